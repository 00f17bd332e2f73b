// Minimal Socket.IO 4 room-broadcast server: the comparison peer for
// guildhall-loadtest. It does what Guildhall's chat does on the hot path
// (join a room, fan a message out to every member) and nothing else, so the
// numbers compare transport + fan-out cost, not features.
//
//   PORT       port to listen on (default 7800; 0 picks a free one, and the
//              chosen port is what gets printed)
//   REDIS_URL  when set, rooms are shared through the Redis adapter so several
//              instances form one cluster
//   PING_INTERVAL, PING_TIMEOUT
//              Engine.IO heartbeat in ms (Socket.IO defaults 25000 / 20000);
//              the client tests shorten them to check that pings are answered
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const HOST = "127.0.0.1";
const port = Number.parseInt(process.env.PORT ?? "7800", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid PORT: ${process.env.PORT}`);
  process.exit(2);
}

function msEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = Number.parseInt(raw, 10);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`invalid ${name}: ${raw}`);
    process.exit(2);
  }
  return v;
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  // The load generator speaks WebSocket directly; no long-polling upgrade
  // dance, no compression (Guildhall does not compress either).
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  pingInterval: msEnv("PING_INTERVAL", 25000),
  pingTimeout: msEnv("PING_TIMEOUT", 20000),
});

const redisClients = [];

async function useRedis(url) {
  // Required lazily so a single instance runs even if Redis is never used.
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) {
    c.on("error", (err) => console.error(`redis: ${err.message}`));
  }
  await Promise.all([pub.connect(), sub.connect()]);
  redisClients.push(pub, sub);
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    if (typeof room !== "string") {
      if (typeof ack === "function") ack(false);
      return;
    }
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });

  socket.on("chat", (room, text, ack) => {
    if (typeof room !== "string") {
      if (typeof ack === "function") ack(false);
      return;
    }
    // Everyone in the room, sender included: same as Guildhall's chat echo.
    io.to(room).emit("msg", text);
    if (typeof ack === "function") ack(true);
  });
});

// Raw sockets, so shutdown can end the ones whose clients do not complete
// the WebSocket close handshake (a load generator that is not reading).
const sockets = new Set();
httpServer.on("connection", (sock) => {
  sockets.add(sock);
  sock.on("close", () => sockets.delete(sock));
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  // A hard deadline so a stuck Redis cannot keep a benchmark run waiting
  // forever.
  const deadline = setTimeout(() => {
    console.error(`${signal}: forced exit`);
    process.exit(1);
  }, 5000);
  deadline.unref();
  // io.close sends every client a close and stops listening; its callback
  // runs once the HTTP server has no connection left.
  io.close(async () => {
    await Promise.allSettled(redisClients.map((c) => c.quit()));
    process.exit(0);
  });
  // Clients get a moment to answer the close, then their sockets go.
  setTimeout(() => {
    for (const sock of sockets) sock.destroy();
  }, 200).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

async function main() {
  if (process.env.REDIS_URL) {
    await useRedis(process.env.REDIS_URL);
  }
  httpServer.on("error", (err) => {
    console.error(`listen: ${err.message}`);
    process.exit(1);
  });
  httpServer.listen(port, HOST, () => {
    // Printed only once the socket is bound (and Redis is up): callers wait
    // for this line before connecting.
    console.log(`listening ${httpServer.address().port}`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
