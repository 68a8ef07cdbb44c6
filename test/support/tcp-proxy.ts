// A TCP proxy on loopback that the reliability tests control, so they can simulate a
// database outage (connections cut mid-query, refused reconnects) without ever stopping
// the shared Postgres or MariaDB servers. It forwards bytes untouched; the hooks see the
// client-to-server chunks, so a test can cut or act at the n-th one.
import net, { type AddressInfo, type Server, type Socket } from 'node:net';

export interface ProxyChunk {
  /** 1-based count of client→server chunks across all connections. */
  index: number;
  connection: number;
  bytes: Buffer;
}

export interface TcpProxy {
  readonly port: number;
  readonly host: string;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  /** Client→server chunks forwarded so far. */
  readonly chunks: number;
  readonly connections: number;
  /** Called before each client→server chunk is forwarded; return 'cut' to destroy every
   *  open connection instead (the chunk is not forwarded). */
  onClientChunk: ((chunk: ProxyChunk) => void | 'cut' | 'forward') | undefined;
  /** Destroys every open connection (both sides see a reset / end of stream). */
  cutAll(): void;
  /** While refusing, new connections are closed at once (an outage); existing ones stay. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let chunks = 0;
  let connections = 0;
  let refusing = false;

  const cutAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };

  const proxy: TcpProxy = {
    port: 0,
    host: '127.0.0.1',
    get chunks() {
      return chunks;
    },
    get connections() {
      return connections;
    },
    onClientChunk: undefined,
    rewrite(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(proxy.port);
      return parsed.toString();
    },
    cutAll,
    refuse(on) {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };

  const server: Server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const connection = ++connections;
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const forget = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget);
    upstream.on('error', forget);
    client.on('close', forget);
    upstream.on('close', forget);
    // Hold client bytes until the upstream socket is connected.
    client.pause();
    upstream.on('connect', () => client.resume());
    client.on('data', (bytes: Buffer) => {
      const index = ++chunks;
      const verdict = proxy.onClientChunk?.({ index, connection, bytes });
      if (verdict === 'cut') {
        cutAll();
        return;
      }
      upstream.write(bytes);
    });
    upstream.on('data', (bytes: Buffer) => client.write(bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { port: number }).port = (server.address() as AddressInfo).port;
  return proxy;
}
