/** The ids of every Workbench command (palette category "Workbench", menu "Workbench"). */
export namespace CommandIDs {
  export const showSidebar = 'workbench:show-sidebar';
  export const refresh = 'workbench:refresh';
  export const openClusterDashboard = 'workbench:open-cluster-dashboard';
  export const insertClusterCode = 'workbench:insert-cluster-code';
  export const stopCluster = 'workbench:stop-cluster';
  export const openTable = 'workbench:open-table';
  export const ingest = 'workbench:ingest';
  export const openRun = 'workbench:open-run';
  export const stopRun = 'workbench:stop-run';
  export const openDashboard = 'workbench:open-dashboard';
  export const openDashboardInBrowser = 'workbench:open-dashboard-in-browser';
  export const stopDashboard = 'workbench:stop-dashboard';
  export const publishNotebook = 'workbench:publish-notebook';
  export const publishFile = 'workbench:publish-file';
  export const stopEndpoint = 'workbench:stop-endpoint';
}
