/**
 * Validating a hot reload of ORLY's policy file (validatePolicyUpdate,
 * src/acl/policy/orly/policy-update.ts) with real signed kind 12345 events: owners of the file
 * and ORLY_OWNERS may update, policy admins and others may not, the content must parse, and the
 * owners may not be emptied.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POLICY_UPDATE_KIND } from '../../../src/acl/policy/orly/policy-rules.js';
import { validatePolicyUpdate } from '../../../src/acl/policy/orly/policy-update.js';
import { newKey, signedEvent, type TestKey } from '../../helpers/events.js';
import { policyOf } from './helpers.js';

const owner = newKey();
const extraOwner = newKey();
const admin = newKey();
const alice = newKey();

const current = policyOf({ owners: [owner.pubkey], policy_admins: [admin.pubkey] }, [extraOwner.pubkey]);

function update(by: TestKey, content: object | string, kind = POLICY_UPDATE_KIND) {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  return signedEvent(by, { kind, content: text });
}

describe('policy update (kind 12345)', () => {
  it('accepts a valid document from an owner of the file or of ORLY_OWNERS', () => {
    const next = { owners: [owner.pubkey], rules: { '1': { size_limit: 1000 } } };
    for (const by of [owner, extraOwner]) {
      const result = validatePolicyUpdate(current, update(by, next), [extraOwner.pubkey]);
      assert.ok(result.ok);
      assert.equal(result.document.rules?.get(1)?.sizeLimit, 1000);
    }
  });

  it('refuses policy admins and everyone else', () => {
    for (const by of [admin, alice]) {
      assert.deepEqual(
        validatePolicyUpdate(current, update(by, { owners: [owner.pubkey] }), [extraOwner.pubkey]),
        {
          ok: false,
          reason: 'restricted: only owners may change the policy',
        },
      );
    }
    const noOwners = policyOf({});
    assert.equal(validatePolicyUpdate(noOwners, update(alice, {}), []).ok, false);
  });

  it('refuses content that does not parse, with the PolicyError message', () => {
    assert.deepEqual(
      validatePolicyUpdate(
        current,
        update(owner, { owners: [owner.pubkey], rules: { '1': { size_limt: 1 } } }),
        [],
      ),
      {
        ok: false,
        reason: 'invalid: policy: rules.1.size_limt: unknown field',
      },
    );
    const broken = validatePolicyUpdate(current, update(owner, '{"owners":'), []);
    assert.ok(!broken.ok);
    assert.match(broken.reason, /^invalid: policy: \(document\): not valid JSON/);
  });

  it('refuses emptying the owners, unless there were none', () => {
    for (const next of [{}, { owners: [] }]) {
      assert.deepEqual(validatePolicyUpdate(current, update(owner, next), []), {
        ok: false,
        reason: 'invalid: policy: owners must not become empty',
      });
    }
    const unowned = policyOf({}, [extraOwner.pubkey]);
    assert.ok(validatePolicyUpdate(unowned, update(extraOwner, {}), [extraOwner.pubkey]).ok);
  });

  it('refuses other kinds', () => {
    const result = validatePolicyUpdate(current, update(owner, { owners: [owner.pubkey] }, 1), []);
    assert.deepEqual(result, { ok: false, reason: 'invalid: policy: a policy update is a kind 12345 event' });
  });
});
