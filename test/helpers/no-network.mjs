// Preloaded into CLI child processes by test/cli/no-network.test.ts: any
// attempt to reach the network is recorded to $GANON_NET_LOG and refused.
import { appendFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';

const log = process.env.GANON_NET_LOG;
function refuse(what) {
  if (log) appendFileSync(log, `${what}\n`);
  throw new Error(`network access attempted: ${what}`);
}
const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  // Local IPC (Unix sockets, e.g. tsx's own pipe) is not network.
  if (typeof o === 'string' || (o && typeof o === 'object' && typeof o.path === 'string')) return origConnect.apply(this, args);
  return refuse(`net.connect ${JSON.stringify(o)}`);
};
// A numeric address is not resolved over the network (getaddrinfo answers it
// locally); Node's server.listen(port, '127.0.0.1') looks its host up this way,
// as the mediapipe landmark backend's loopback asset server does. Connections
// are still refused above, whatever the address.
const origLookup = dns.lookup;
const origPromisesLookup = dns.promises.lookup;
dns.lookup = (host, ...rest) => (net.isIP(host) ? origLookup(host, ...rest) : refuse(`dns.lookup ${host}`));
dns.promises.lookup = async (host, ...rest) => (net.isIP(host) ? origPromisesLookup(host, ...rest) : refuse(`dns.promises.lookup ${host}`));
http.request = (u) => refuse(`http.request ${u}`);
https.request = (u) => refuse(`https.request ${u}`);
http.get = (u) => refuse(`http.get ${u}`);
https.get = (u) => refuse(`https.get ${u}`);
globalThis.fetch = async (u) => refuse(`fetch ${u}`);
