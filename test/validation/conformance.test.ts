// checkFolder (npm run conformance -- DIR): schema, reference syntax, then the claimed profiles.
// Run on our own fixtures (the IG's examples are checked by the script, not by the test suite).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFolder } from '../../src/validation/conformance.ts';
import { FIXTURES } from './profile-test-kit.ts';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('checkFolder', () => {
  it('passes every fixture (valid R4 and valid for its profiles) and hands profile warnings over', () => {
    const warned: string[] = [];
    const results = checkFolder(FIXTURES, { onWarnings: (file) => warned.push(file) });
    expect(results.length).toBeGreaterThanOrEqual(18);
    expect(results.filter((result) => result.problems.length > 0)).toEqual([]);
    // Codes bound to VSAC-only value sets cannot be checked: warned, not passed silently.
    expect(warned).toContain('ServiceRequest-sdohcc.json');
  });

  it('fails a file that breaks a profile rule, with the element and the rule', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
    dirs.push(dir);
    const task = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'Task-referral-management.json'), 'utf8')) as { status: string };
    task.status = 'received';
    fs.writeFileSync(path.join(dir, 'Task-received.json'), JSON.stringify(task));
    const [result] = checkFolder(dir, { onWarnings: () => undefined });
    expect(result.problems).toEqual([expect.stringMatching(/^Task\.status: The code 'received' is not in the value set .*SDOHCC-ValueSetReferralTaskStatus/)]);
  });
});
