import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="9" y="2" width="6" height="5" rx="1"/>
    <rect x="3" y="17" width="6" height="5" rx="1"/>
    <rect x="15" y="17" width="6" height="5" rx="1"/>
    <path d="M11.25 7h1.5v4H18a1 1 0 0 1 1 1v5h-1.5v-4.5h-11V17H5v-5a1 1 0 0 1 1-1h5.25z"/>
  </g>
</svg>`;

export const pipelineIcon = new LabIcon({ name: 'jupyter-kf:pipeline', svgstr: svg });
