'use strict';
// Baseline: a plain ws 8 echo server ("raw ws"), one ws.send per message.
const { WebSocketServer } = require('ws');
const { setup, send, reportError } = require('./common');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  path: '/ws',
  perMessageDeflate: false,
});

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    ws.send('Echo: ' + data);
  });
  ws.on('error', () => {});
});
wss.on('error', reportError);
wss.on('listening', () => {
  send({ ready: true, port: wss.address().port });
});

setup(
  () =>
    new Promise((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    }),
);
