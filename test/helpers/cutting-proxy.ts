/**
 * A TCP proxy in front of the coordinator that can cut a connection for
 * real, part way through what the browser sends: once armed, the first
 * connection to carry `bytes` more bytes upstream is destroyed on both sides.
 * Everything else passes through untouched, so the page reconnects through
 * it as it would after a dropped network.
 */
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Cuts the first connection that sends `bytes` more upstream; resolves when it did. */
  cutAfter(bytes: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: URL): Promise<CuttingProxy> {
  let armed: { left: Map<Socket, number>; bytes: number; cut: () => void } | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      if (armed) {
        const sent = (armed.left.get(client) ?? 0) + chunk.byteLength;
        armed.left.set(client, sent);
        if (sent >= armed.bytes) {
          const { cut } = armed;
          armed = undefined;
          end();
          return cut();
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    cutAfter: (bytes) => new Promise((resolve) => (armed = { left: new Map(), bytes, cut: resolve })),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
