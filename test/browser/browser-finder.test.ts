import { describe, expect, it } from '@jest/globals';
import { browserCommands } from '../../dev/native-client/browser.js';
import { chromiumExecutable, findChromium } from '../support/browser.js';

describe('finding the browser the browser tests drive', () => {
  it('when CHROMIUM_PATH names an executable, then it is the one used', () => {
    expect(findChromium({ CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
  });

  it('when CHROMIUM_PATH names no executable file, then the set-up fails saying so (it never falls back or skips)', () => {
    expect(() => findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).toThrow('CHROMIUM_PATH=/nonexistent/chromium is not an executable file');
  });

  it('when nothing is set on this machine, then a browser is found (or installed) and its path is executable', () => {
    expect(chromiumExecutable()).toMatch(/chrom/i);
  });
});

describe('BROWSER, the browser npm run login hands the sign-in page to', () => {
  it('when it names one command, then its words are the command and its arguments (%s kept where the URL goes)', () => {
    expect(browserCommands('chromium --incognito')).toEqual([['chromium', '--incognito']]);
    expect(browserCommands('firefox -new-tab %s')).toEqual([['firefox', '-new-tab', '%s']]);
  });

  it('when it lists several (separated like PATH), then each is a command; unset or empty, none', () => {
    expect(browserCommands('w3m:lynx -dump')).toEqual([['w3m'], ['lynx', '-dump']]);
    expect(browserCommands(undefined)).toEqual([]);
    expect(browserCommands('')).toEqual([]);
  });
});
