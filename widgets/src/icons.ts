/** The Workbench icon: a stack of three lake layers under a spark (an SVG LabIcon). */
import { LabIcon } from '@jupyterlab/ui-components';

const WORKBENCH_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 13.5 12 17l8-3.5v2.2L12 19.2 4 15.7z"/>
    <path d="M4 17.8 12 21.3l8-3.5V20l-8 3.5L4 20z"/>
    <path d="M12 9.2 20 12.7 12 16.2 4 12.7z"/>
    <path d="M15.5 1 13 6h3l-2.5 5 6-6.5h-3.2L19 1z"/>
  </g>
</svg>`;

export const workbenchIcon = new LabIcon({
  name: '@workbench-ai/jupyterlab:workbench',
  svgstr: WORKBENCH_SVG
});
