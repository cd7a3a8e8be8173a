import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listeningAddr, parseAddr } from '../../../src/http/health-server.ts';

describe('listen addresses', () => {
  const servers: Server[] = [];
  const listen = async (host: string) => {
    const s = createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, host, r));
    return s;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('parses ":8080" and "host:port", and refuses a port that is not one', () => {
    expect(parseAddr(':8080')).toEqual({ port: 8080 });
    expect(parseAddr('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(() => parseAddr('127.0.0.1:http')).toThrow('invalid address 127.0.0.1:http');
  });

  it('names the port the kernel chose for :0, IPv6 in brackets, so the log says where to connect', async () => {
    const v4 = listeningAddr(await listen('127.0.0.1'));
    expect(v4).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Number(v4.split(':')[1])).toBeGreaterThan(0);
    expect(listeningAddr(await listen('::1'))).toMatch(/^\[::1\]:[1-9]\d*$/);
    expect(listeningAddr(createServer())).toBe('');
  });
});
