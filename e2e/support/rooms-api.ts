import * as fs from 'node:fs';
import { expect, type TestInfo } from '@playwright/test';
import type { NonstopServer } from './server';

/** The rooms REST API as the end-to-end tests use it: one test key, a private room, meeting tokens. */

const KEY = 'e2e-api-key-0123456789abcdef';

/** A request to the server's API with the test key: [status, JSON body]. */
export async function api(server: NonstopServer, method: string, path: string, body?: object): Promise<[number, any]> {
  const res = await fetch(`${server.url}/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return [res.status, await res.json()];
}

/** A server with the rooms API on (the test key, `extraArgs` too), and the private room `room` made through it. */
export async function withPrivateRoom(
  startServer: (opts?: { extraArgs?: string[] }) => Promise<NonstopServer>,
  room: string,
  testInfo: TestInfo,
  extraArgs: string[] = [],
): Promise<NonstopServer> {
  const keys = testInfo.outputPath('api-keys');
  fs.writeFileSync(keys, `${KEY}\n`);
  const server = await startServer({
    extraArgs: ['--api-key-file', keys, '--database-url', `sqlite:${testInfo.outputPath('nonstop.db')}`, ...extraArgs],
  });
  const [made, madeRoom] = await api(server, 'POST', '/rooms', { name: room, privacy: 'private' });
  expect(made, JSON.stringify(madeRoom)).toBe(201);
  return server;
}

/** A meeting token for `room`, made through the API. */
export async function meetingToken(server: NonstopServer, room: string, userName: string, isOwner = false): Promise<string> {
  const [status, body] = await api(server, 'POST', '/meeting-tokens', { room, user_name: userName, is_owner: isOwner });
  expect(status, JSON.stringify(body)).toBe(201);
  return body.token as string;
}
