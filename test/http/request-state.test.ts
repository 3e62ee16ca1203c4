import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { Socket } from 'node:net';
import { ApiRequest, ApiResponse } from '../../src/http/request-state.js';

/** Whether `name` is an accessor (getter or setter) anywhere on `proto`'s chain. */
function isAccessor(proto: object | null, name: string | symbol): boolean {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (descriptor) return descriptor.get !== undefined || descriptor.set !== undefined;
  }
  return false;
}

describe('the request and response classes', () => {
  it("when their fields are declared up front, then none hides one of Express's getters (query, path, ip…)", () => {
    const req = new ApiRequest(new Socket());
    const res = new ApiResponse(req);
    const app = express();
    const requestFields = Reflect.ownKeys(req);
    expect(requestFields).toEqual(expect.arrayContaining(['id', 'res', 'route', 'params', 'originalUrl']));
    for (const name of requestFields) expect([name, isAccessor(app.request, name)]).toEqual([name, false]);
    for (const name of Reflect.ownKeys(res)) expect([name, isAccessor(app.response, name)]).toEqual([name, false]);
    // The getters themselves are still Express's.
    expect(isAccessor(app.request, 'query')).toBe(true);
    expect(isAccessor(app.request, 'path')).toBe(true);
  });
});
