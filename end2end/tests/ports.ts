/**
 * Free ports for servers a test starts itself (an embedded TURN server needs its UDP port, and TCP on the same
 * number is checked too, so a server that also listens on TCP there finds it free).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A port free for both UDP and TCP on `host`, as the kernel picks them (a later bind may still race). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const tcp = createServer();
      tcp.once('error', () => resolve(false));
      tcp.listen(port, host, () => tcp.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${host}`);
}
