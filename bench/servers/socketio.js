'use strict';
// socket.io 4, websocket transport only, echoing the 'message' event.
const http = require('http');
const { Server } = require('socket.io');
const { setup, send, reportError } = require('./common');

const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
});

io.on('connection', (socket) => {
  socket.on('message', (msg) => {
    socket.emit('message', msg);
  });
});
httpServer.on('error', reportError);
httpServer.on('clientError', (err, sock) => sock.destroy());
httpServer.listen(0, '127.0.0.1', () => {
  send({ ready: true, port: httpServer.address().port });
});

setup(
  () =>
    new Promise((resolve) => {
      io.disconnectSockets(true);
      io.close(() => resolve());
    }),
);
