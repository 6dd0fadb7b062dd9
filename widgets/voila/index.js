// A mime renderer for `application/vnd.plotly.v1+json`, installed for Voila only
// (share/jupyter/voila/labextensions): dashboards draw with plotly.js's cartesian bundle
// (scatter, bar, histogram, heatmap, box, violin, pie, contour, ...: 1.5 MB) instead of the full
// 4.8 MB one jupyterlab-plotly loads, whose compilation alone delays a dashboard's first chart by
// most of a second. A figure with a trace type the cartesian bundle lacks gets the full bundle,
// fetched only then. Written by hand because jupyterlab-plotly has no option for a partial
// bundle; JupyterLab itself keeps jupyterlab-plotly.
import { Widget } from '@lumino/widgets';

const MIME = 'application/vnd.plotly.v1+json';

// Fetched as the page starts, while the widgets' state is still on its way from the kernel:
// fetched at the first figure instead, it would delay that figure by its download and compile.
const cartesian = import('plotly.js-cartesian-dist-min');
let full = null;

/** The plotly.js that draws every trace of `data`: the cartesian bundle when it can. */
async function plotlyFor(data) {
  const lite = (await cartesian).default;
  const known = lite.PlotSchema.get().traces;
  if (data.every(trace => (trace.type || 'scatter') in known)) {
    return lite;
  }
  full = full || import('plotly.js-dist-min');
  return (await full).default;
}

/** One figure: drawn (or redrawn) by `Plotly.react` from the output's JSON. */
class PlotlyRenderer extends Widget {
  constructor(options) {
    super();
    this.mimeType = options.mimeType;
    this.addClass('jp-RenderedPlotly');
  }

  async renderModel(model) {
    const figure = model.data[this.mimeType] || {};
    const data = figure.data || [];
    const Plotly = await plotlyFor(data);
    await Plotly.react(this.node, {
      data,
      layout: figure.layout || {},
      frames: figure.frames || [],
      config: figure.config || {}
    });
  }
}

export default {
  id: '@workbench-ai/voila-plotly:renderer',
  rendererFactory: {
    safe: true,
    mimeTypes: [MIME],
    createRenderer: options => new PlotlyRenderer(options)
  },
  rank: 0,
  dataType: 'json'
};
