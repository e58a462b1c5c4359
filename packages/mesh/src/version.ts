/** minimesh's version: `minimesh version`, the proxy's `istio_build` tag, the control plane's /version, the image tag. */
export const MINIMESH_VERSION = '0.1.0';
