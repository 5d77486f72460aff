// Starts fastboot-app-server on the built dist/ with the app's own sandbox globals
// (config/fastboot.js). Upstream's Procfile runs `ember serve`, a development server.
const FastBootAppServer = require('fastboot-app-server');
const sandbox = require('./config/fastboot')(process.env.NODE_ENV);

new FastBootAppServer({
  distPath: 'dist',
  gzip: true,
  host: '0.0.0.0',
  port: Number(process.env.PORT || 3000),
  chunkedResponse: false,
  ...sandbox,
}).start();
