'use strict';
// HubSpot's Node SDK (@hubspot/api-client) used against syncd the way client code written for
// HubSpot uses it: `new hubspot.Client({ accessToken, basePath })`, then the SDK's own calls.
// tests/api/test_hubspot_node_sdk.py starts the server, runs this script once and asserts on
// what it prints.
//
// Usage: SYNCD_API_URL=http://127.0.0.1:PORT SYNCD_API_TOKEN=... node sdk_cases.js [case ...]
// Prints one JSON object: {caseName: {result | error, calls, modelProblems, typeProblems,
// extraFields, exchanges}}. `result` is what the case returned (SDK models turned to JSON);
// `error` is what it threw; `calls` the SDK methods it called; `modelProblems` nulls and
// unparsable dates in the decoded models (see `watch`); `typeProblems` and `extraFields` how
// the raw answers differ from the SDK's generated models (see `checkShape`); `exchanges` every
// HTTP answer the SDK received, raw (status, headers, the body parsed as JSON), so that the
// test can check the wire, not only what the SDK's models made of it.

const path = require('path');
const hubspot = require('@hubspot/api-client');

const basePath = process.env.SYNCD_API_URL;
const accessToken = process.env.SYNCD_API_TOKEN;
if (!basePath || !accessToken) {
  process.stderr.write('sdk_cases.js: set SYNCD_API_URL and SYNCD_API_TOKEN\n');
  process.exit(2);
}

// Every model an SDK call resolved to is kept (`models`) to be checked as a whole: client code
// reads these, so a date the SDK could not parse or a null where HubSpot sends nothing shows.
function watch(target, models) {
  return new Proxy(target, {
    get(obj, key) {
      const value = Reflect.get(obj, key, obj);
      const own = Object.getOwnPropertyDescriptor(obj, key);
      if (own && !own.configurable && !own.writable) return value;
      if (typeof value === 'function') {
        return (...args) => {
          const answer = value.apply(obj, args);
          if (answer && typeof answer.then === 'function') {
            return answer.then((model) => {
              models.push({ call: String(key), model });
              return model;
            });
          }
          return answer;
        };
      }
      if (value && typeof value === 'object' && !(value instanceof Date)) return watch(value, models);
      return value;
    },
  });
}

// What is wrong in a decoded model: a Date that did not parse, or a null. Exempt, as HubSpot
// sends them: a record's property values (null when requested but empty) and the label of an
// unlabelled association type.
function modelProblems(value, path, out) {
  if (value === null) {
    out.push(`${path}: null`);
  } else if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) out.push(`${path}: a date the SDK could not parse`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => modelProblems(item, `${path}[${i}]`, out));
  } else if (typeof value === 'object' && value !== undefined) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'properties' && item && typeof item === 'object' && !Array.isArray(item)) continue;
      if (key === 'label' && 'typeId' in value) continue;
      modelProblems(item, `${path}.${key}`, out);
    }
  }
  return out;
}

// The raw answers: the SDK sends every request through node-fetch's default export (its
// generated APIs and apiRequest alike), so wrapping that one function sees each answer before
// the SDK decodes it. The SDK's own `middleware` option would be the obvious hook, but this
// version never applies configured middleware (its generated code starts from an empty list).
const fetchModule = require(
  require.resolve('node-fetch', { paths: [path.dirname(require.resolve('@hubspot/api-client'))] }),
);
const realFetch = fetchModule.default;
let recording = null; // the running case's exchanges
fetchModule.default = async (url, init = {}) => {
  const response = await realFetch(url, init);
  if (!recording) return response;
  const text = await response.text();
  const headers = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (error) {
      body = { unparsable: text };
    }
  }
  recording.push({ method: init.method || 'GET', path: new URL(url).pathname, status: response.status, headers, body });
  // The body was read once here: hand the SDK the same answer again.
  return new fetchModule.Response(text, { url: response.url, status: response.status, statusText: response.statusText, headers: response.headers });
};

// Each raw answer against the type the SDK decodes it into. The SDK's generated models carry
// HubSpot's documented field types (from HubSpot's OpenAPI documents), but its decoder copies
// a primitive as it comes: a number sent as "14" stays a string in the model, and JavaScript's
// `===` then differs from HubSpot's. So the outermost decode of each answer is walked here:
// every field of a known type must have that JSON type. Fields the model does not define are
// kept apart (`extraFields`): HubSpot sends undocumented fields too, so they are reported, not
// refused.
let shapes = null; // the running case's {typeProblems, extraFields}
const JSON_TYPES = {
  string: 'string', boolean: 'boolean', number: 'number', integer: 'number', long: 'number',
  double: 'number', float: 'number',
};
function checkShape(models, data, type, path) {
  if (data === null || data === undefined || type === 'any') return;
  for (const suffix of [' | null', ' | undefined']) {
    if (type.endsWith(suffix)) return checkShape(models, data, type.slice(0, -suffix.length), path);
  }
  if (JSON_TYPES[type]) {
    if (typeof data !== JSON_TYPES[type]) shapes.typeProblems.push(`${path}: ${type} expected, got ${JSON.stringify(data)}`);
  } else if (type === 'Date') {
    if (typeof data !== 'string' || Number.isNaN(Date.parse(data))) shapes.typeProblems.push(`${path}: a date expected, got ${JSON.stringify(data)}`);
  } else if (type.startsWith('Array<')) {
    if (!Array.isArray(data)) return shapes.typeProblems.push(`${path}: an array expected`);
    data.forEach((item, i) => checkShape(models, item, type.slice(6, -1), `${path}[${i}]`));
  } else if (type.startsWith('{ [key: string]: ')) {
    if (typeof data !== 'object' || Array.isArray(data)) return shapes.typeProblems.push(`${path}: an object expected`);
    const inner = type.slice('{ [key: string]: '.length, -'; }'.length);
    for (const [key, item] of Object.entries(data)) checkShape(models, item, inner, `${path}.${key}`);
  } else if (models[type] && typeof models[type].getAttributeTypeMap === 'function') {
    if (typeof data !== 'object' || Array.isArray(data)) return shapes.typeProblems.push(`${path}: a ${type} object expected`);
    const attributes = models[type].getAttributeTypeMap();
    const known = new Set(attributes.map((a) => a.baseName));
    for (const key of Object.keys(data)) if (!known.has(key)) shapes.extraFields.push(`${type}.${key}`);
    for (const a of attributes) checkShape(models, data[a.baseName], a.type, `${path}.${a.baseName}`);
  } // else an enum (a string union only in the .d.ts files): nothing to check at run time
}
const codegen = path.join(path.dirname(require.resolve('@hubspot/api-client')), 'codegen', 'crm');
function serializers(dir) {
  return require('fs').readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const inside = path.join(dir, entry.name);
    if (!entry.isDirectory()) return [];
    if (entry.name === 'models') {
      const file = path.join(inside, 'ObjectSerializer.js');
      return require('fs').existsSync(file) ? [file] : [];
    }
    return serializers(inside);
  });
}
for (const file of serializers(codegen)) {
  const models = require(file);
  const { ObjectSerializer } = models;
  const decode = ObjectSerializer.deserialize;
  let depth = 0;
  ObjectSerializer.deserialize = function deserialize(data, type, format) {
    if (depth === 0 && shapes) checkShape(models, data, type, type);
    depth += 1;
    try {
      return decode.call(this, data, type, format);
    } finally {
      depth -= 1;
    }
  };
}

// A client as client code makes one; calls through it are watched (see `watch`).
function sdkClient(models, token = accessToken) {
  return watch(new hubspot.Client({ accessToken: token, basePath }), models);
}

// What an SDK call threw, as client code sees it: ApiException's code, decoded body, headers.
function thrown(error) {
  if (error && typeof error.code === 'number' && 'body' in error) {
    return { status: error.code, body: error.body, headers: error.headers };
  }
  return { crash: String((error && error.stack) || error) };
}

async function refused(promise) {
  try {
    await promise;
  } catch (error) {
    const seen = thrown(error);
    if (seen.crash) throw error;
    return seen;
  }
  throw new Error('expected the SDK call to be refused, it succeeded');
}

// Keys whose value the SDK model holds as null (JSON.stringify drops undefined, keeps null).
function nullKeys(model) {
  return Object.entries(model).filter(([, v]) => v === null).map(([k]) => k);
}

const ADA = 'ada.node@example.com';

const cases = {
  // Issue 18.1: asking for properties= still returns hs_object_id, createdate, lastmodifieddate.
  async systemProperties(client) {
    const contacts = client.crm.contacts;
    const made = await contacts.basicApi.create({ properties: { email: ADA, firstname: 'Ada' } });
    const get = await contacts.basicApi.getById(made.id, ['email']);
    const history = await contacts.basicApi.getById(made.id, ['email'], ['firstname']);
    const page = await contacts.basicApi.getPage(100, undefined, ['email']);
    // The search request as the SDK's README writes it: `after: 0`, sorts as a string.
    const search = await contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: ADA }] }],
      sorts: ['-createdate'],
      properties: ['email'],
      limit: 100,
      after: 0,
    });
    const batch = await contacts.batchApi.read({
      properties: ['email'],
      propertiesWithHistory: [],
      inputs: [{ id: made.id }],
    });
    return {
      made,
      get: get.properties,
      history: { properties: history.properties, propertiesWithHistory: history.propertiesWithHistory },
      page: page.results.find((r) => r.id === made.id).properties,
      search: search.results.map((r) => r.properties),
      batch: batch.results.map((r) => r.properties),
    };
  },

  // Issue 18.2: a booleancheckbox with HubSpot's usual true/false options, labelled Yes/No.
  async boolOptions(client) {
    const core = client.crm.properties.coreApi;
    const made = await core.create('contacts', {
      name: 'vip_node',
      label: 'VIP',
      type: 'bool',
      fieldType: 'booleancheckbox',
      groupName: 'contactinformation',
      options: [
        { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
        { label: 'No', value: 'false', displayOrder: 1, hidden: false },
      ],
    });
    const read = await core.getByName('contacts', 'vip_node');
    const record = await client.crm.contacts.basicApi.create({
      properties: { email: 'vip.node@example.com', vip_node: 'true' },
    });
    // JavaScript code passes a JS boolean as often as the string the SDK's type names.
    const plain = await client.crm.contacts.basicApi.create({
      properties: { email: 'plain.node@example.com', vip_node: false },
    });
    const other = await refused(
      core.create('contacts', {
        name: 'vip_other',
        label: 'Other',
        type: 'bool',
        fieldType: 'booleancheckbox',
        groupName: 'contactinformation',
        options: [
          { label: 'Yes', value: 'yes', displayOrder: 0, hidden: false },
          { label: 'No', value: 'no', displayOrder: 1, hidden: false },
        ],
      }),
    );
    return {
      made: made.options,
      read: read.options,
      modelNulls: nullKeys(read),
      value: record.properties.vip_node,
      fromBoolean: plain.properties.vip_node,
      other,
    };
  },

  // Issue 18.3: one errors[] entry per bad property, single and batch writes.
  async badProperties(client) {
    const contacts = client.crm.contacts;
    const bad = { nosuch: 'x', email: 'not-an-email', lifecyclestage: 'bogus', hs_object_id: '7' };
    const kept = await contacts.basicApi.create({
      properties: { email: 'kept.node@example.com', firstname: 'Kept' },
    });
    const other = await contacts.basicApi.create({ properties: { email: 'other.node@example.com' } });
    const create = await refused(contacts.basicApi.create({ properties: bad }));
    const update = await refused(
      contacts.basicApi.update(kept.id, { properties: { ...bad, firstname: 'Changed' } }),
    );
    const batchCreate = await contacts.batchApi.create({
      inputs: [{ properties: { email: 'new.node@example.com' } }, { properties: bad }],
    });
    const batchUpdate = await contacts.batchApi.update({
      inputs: [
        { id: kept.id, properties: { lastname: 'Ok' } },
        { id: other.id, properties: bad },
      ],
    });
    const batchUpsert = await contacts.batchApi.upsert({
      inputs: [
        { id: 'up.node@example.com', idProperty: 'email', properties: { firstname: 'Up' } },
        { id: 'bad.node@example.com', idProperty: 'email', properties: bad },
      ],
    });
    const after = await contacts.basicApi.getById(kept.id, ['firstname', 'lastname']);
    return { create, update, batchCreate, batchUpdate, batchUpsert, after: after.properties };
  },

  // Issue 18.4: optional fields left out (the SDK's models hold undefined, never null).
  async leftOut(client) {
    const ann = await client.crm.contacts.basicApi.create({ properties: { email: 'ann.node@example.com' } });
    const v4 = client.crm.associations.v4;
    const empty = await v4.basicApi.getPage('contacts', ann.id, 'companies');
    const email = await client.crm.properties.coreApi.getByName('contacts', 'email');
    const all = await client.crm.properties.coreApi.getAll('companies');
    const batch = await client.crm.contacts.batchApi.read({
      properties: ['email'],
      propertiesWithHistory: [],
      inputs: [{ id: ann.id }],
    });
    const partial = await client.crm.contacts.batchApi.read({
      properties: ['email'],
      propertiesWithHistory: [],
      inputs: [{ id: ann.id }, { id: '987654321' }],
    });
    const schemas = client.crm.schemas.coreApi;
    const schema = await schemas.create({
      name: 'cars_node',
      labels: { singular: 'Car', plural: 'Cars' },
      primaryDisplayProperty: 'model',
      requiredProperties: ['model'],
      properties: [{ name: 'model', label: 'Model', type: 'string', fieldType: 'text' }],
      associatedObjects: ['CONTACT'],
    });
    const link = await schemas.createAssociation(schema.objectTypeId, {
      fromObjectTypeId: schema.objectTypeId,
      toObjectTypeId: '0-2',
      name: 'car_node_company',
    });
    const fetched = await schemas.getById('cars_node');
    const listed = await schemas.getAll();
    const missing = await refused(client.crm.contacts.basicApi.getById('987654321'));
    return {
      empty: { keys: Object.keys(empty), paging: empty.paging === undefined ? 'undefined' : empty.paging },
      email: { nulls: nullKeys(email), model: email },
      companyPropertyNulls: all.results.flatMap(nullKeys),
      batch: { nulls: nullKeys(batch), model: batch },
      partial: { nulls: nullKeys(partial), errorNulls: partial.errors.flatMap(nullKeys), model: partial },
      schema: { nulls: nullKeys(schema), associationNulls: schema.associations.flatMap(nullKeys) },
      link: { nulls: nullKeys(link), model: link },
      fetched: { nulls: nullKeys(fetched) },
      listedNames: listed.results.map((s) => s.name),
      missing,
    };
  },

  // Issue 18.5: the X-HubSpot-Correlation-Id header, on answers and on errors.
  async correlation(client, models) {
    const made = await client.crm.contacts.basicApi.create({ properties: { email: 'cid.node@example.com' } });
    const info = await client.crm.contacts.basicApi.getByIdWithHttpInfo(made.id);
    const missing = await refused(client.crm.contacts.basicApi.getById('987654321'));
    const stranger = sdkClient(models, 'not-a-token');
    const unauthorised = await refused(stranger.crm.contacts.basicApi.getPage());
    return {
      ok: { status: info.httpStatusCode, header: info.headers['x-hubspot-correlation-id'] },
      missing: { header: missing.headers['x-hubspot-correlation-id'], body: missing.body },
      unauthorised: {
        status: unauthorised.status,
        header: unauthorised.headers['x-hubspot-correlation-id'],
        body: unauthorised.body,
      },
    };
  },

  // CRUD as the SDK's README does it: contacts and companies, single and batch, getAll.
  async crud(client) {
    const { contacts, companies } = client.crm;
    const made = await contacts.basicApi.create({
      properties: { firstname: 'Grace', lastname: 'Hopper', email: 'grace.node@example.com' },
    });
    const acme = await companies.basicApi.create({ properties: { domain: 'acme-node.example', name: 'Acme' } });
    const read = await contacts.basicApi.getById(made.id, ['firstname', 'lastname']);
    const updated = await contacts.basicApi.update(made.id, { properties: { lastname: 'Murray Hopper' } });
    const duplicate = await refused(contacts.basicApi.create({ properties: { email: 'grace.node@example.com' } }));
    const byEmail = await contacts.basicApi.getById('grace.node@example.com', ['lastname'], undefined, undefined, false, 'email');
    const batch = await contacts.batchApi.create({
      inputs: [
        { properties: { email: 'b1.node@example.com', firstname: 'B1' }, associations: [] },
        { properties: { email: 'b2.node@example.com', firstname: 'B2' }, associations: [] },
      ],
    });
    const ids = batch.results.map((r) => r.id).sort();
    const batchUpdate = await contacts.batchApi.update({
      inputs: ids.map((id) => ({ id, properties: { lastname: 'Batch' } })),
    });
    const batchRead = await contacts.batchApi.read({
      properties: ['lastname'],
      propertiesWithHistory: [],
      inputs: ids.map((id) => ({ id })),
    });
    const all = await contacts.getAll(1, undefined, ['email']); // pages one at a time
    await contacts.batchApi.archive({ inputs: ids.map((id) => ({ id })) });
    await contacts.basicApi.archive(made.id);
    const gone = await refused(contacts.basicApi.getById(made.id));
    const archived = await contacts.basicApi.getById(made.id, ['email'], undefined, undefined, true);
    const companyUpdate = await companies.basicApi.update(acme.id, { properties: { name: 'Acme Corp' } });
    const companySearch = await companies.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: 'acme-node.example' }] }],
      properties: ['name'],
      limit: 10,
      after: '0',
    });
    return {
      made: { id: made.id, properties: made.properties, archived: made.archived, createdAt: made.createdAt },
      read: read.properties,
      updated: updated.properties,
      duplicate: { status: duplicate.status, category: duplicate.body.category, message: duplicate.body.message },
      byEmail: { id: byEmail.id, lastname: byEmail.properties.lastname },
      batch: { status: batch.status, count: batch.results.length, type: batch.constructor.name },
      batchUpdate: batchUpdate.results.map((r) => r.properties.lastname),
      batchRead: batchRead.results.map((r) => r.properties.lastname),
      allEmails: all.map((r) => r.properties.email).sort(),
      gone: { status: gone.status, category: gone.body.category },
      archived: { archived: archived.archived, hasArchivedAt: archived.archivedAt instanceof Date },
      companyUpdate: companyUpdate.properties.name,
      companySearch: { total: companySearch.total, names: companySearch.results.map((r) => r.properties.name) },
      datesAreDates: made.createdAt instanceof Date && made.updatedAt instanceof Date,
    };
  },

  // Associations v4 as the SDK's README writes them, labels included.
  async associations(client) {
    const v4 = client.crm.associations.v4;
    const ann = await client.crm.contacts.basicApi.create({ properties: { email: 'assoc.node@example.com' } });
    const acme = await client.crm.companies.basicApi.create({ properties: { name: 'Acme Assoc' } });
    const globex = await client.crm.companies.basicApi.create({ properties: { name: 'Globex' } });
    const labelled = await v4.basicApi.create('companies', acme.id, 'contacts', ann.id, [
      { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: hubspot.AssociationTypes.companyToContact },
    ]);
    const byDefault = await v4.basicApi.createDefault('contacts', ann.id, 'companies', globex.id);
    // The README's own call: singular object type names.
    const singular = await v4.basicApi.getPage('contact', ann.id, 'company', undefined, 500);
    const firstPage = await v4.basicApi.getPage('contacts', ann.id, 'companies', undefined, 1);
    const secondPage = await v4.basicApi.getPage('contacts', ann.id, 'companies', firstPage.paging.next.after, 1);
    const batchRead = await v4.batchApi.getPage('contacts', 'companies', { inputs: [{ id: ann.id }] });
    const definition = await v4.schema.definitionsApi.create('contacts', 'companies', {
      label: 'Node Manager',
      name: 'node_manager',
    });
    const typeId = definition.results.find((r) => r.category === 'USER_DEFINED').typeId;
    const labels = await v4.schema.definitionsApi.getAll('contacts', 'companies');
    const relabelled = await v4.basicApi.create('contacts', ann.id, 'companies', acme.id, [
      { associationCategory: 'USER_DEFINED', associationTypeId: typeId },
    ]);
    const afterLabel = await v4.basicApi.getPage('contacts', ann.id, 'companies');
    await v4.basicApi.archive('contacts', ann.id, 'companies', globex.id);
    const afterArchive = await v4.basicApi.getPage('contacts', ann.id, 'companies');
    return {
      ids: { ann: ann.id, acme: acme.id, globex: globex.id },
      labelled: { from: labelled.fromObjectId, to: labelled.toObjectId, labels: labelled.labels },
      byDefault: { status: byDefault.status, count: byDefault.results.length },
      singular: singular.results.map((r) => String(r.toObjectId)).sort(),
      expected: [acme.id, globex.id].sort(),
      firstPage: { count: firstPage.results.length, hasNext: Boolean(firstPage.paging && firstPage.paging.next) },
      secondPage: { count: secondPage.results.length, paging: secondPage.paging === undefined ? 'undefined' : secondPage.paging },
      pagedIds: [...firstPage.results, ...secondPage.results].map((r) => String(r.toObjectId)).sort(),
      batchRead: batchRead.results.map((r) => ({ from: r._from.id, to: r.to.map((t) => String(t.toObjectId)).sort() })),
      typeId,
      labelNames: labels.results.map((r) => r.label),
      relabelled: relabelled.labels,
      acmeTypes: afterLabel.results
        .find((r) => String(r.toObjectId) === acme.id)
        .associationTypes.map((t) => ({ category: t.category, typeId: t.typeId, label: t.label })),
      afterArchive: afterArchive.results.map((r) => String(r.toObjectId)),
    };
  },

  // Search as the SDK's README writes it: a millisecond createdate filter, sorts as strings
  // ('-name' descending) or objects, `after: 0` as a number, then paging on.
  async search(client) {
    const contacts = client.crm.contacts;
    const made = await contacts.batchApi.create({
      inputs: ['s1', 's2', 's3'].map((n) => ({ properties: { email: `${n}.search@example.com`, firstname: n } })),
    });
    const ids = made.results.map((r) => Number(r.id)).sort((a, b) => a - b).map(String);
    const recent = {
      filterGroups: [
        {
          filters: [
            { propertyName: 'createdate', operator: 'GTE', value: `${Date.now() - 30 * 60000}` },
            { propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*.search@example.com' },
          ],
        },
      ],
      properties: ['createdate', 'firstname', 'lastname'],
      limit: 100,
      after: 0,
    };
    const desc = await contacts.searchApi.doSearch({ ...recent, sorts: ['-hs_object_id'] });
    const asc = await contacts.searchApi.doSearch({ ...recent, sorts: ['hs_object_id'] });
    const asObject = await contacts.searchApi.doSearch({
      ...recent,
      sorts: [{ propertyName: 'hs_object_id', direction: 'DESCENDING' }],
    });
    const first = await contacts.searchApi.doSearch({ ...recent, sorts: ['hs_object_id'], limit: 2 });
    const rest = await contacts.searchApi.doSearch({
      ...recent,
      sorts: ['hs_object_id'],
      limit: 2,
      after: first.paging.next.after,
    });
    const future = await contacts.searchApi.doSearch({
      ...recent,
      filterGroups: [
        { filters: [{ propertyName: 'createdate', operator: 'GTE', value: `${Date.now() + 86400000}` }] },
      ],
    });
    const text = await contacts.searchApi.doSearch({ query: 's2', properties: ['firstname'], limit: 10, after: '0' });
    const unknown = await refused(
      contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'nosuch', operator: 'EQ', value: 'x' }] }],
        limit: 10,
        after: 0,
      }),
    );
    return {
      ids,
      desc: desc.results.map((r) => r.id),
      asc: asc.results.map((r) => r.id),
      asObject: asObject.results.map((r) => r.id),
      total: desc.total,
      keys: Object.keys(desc.results[0].properties).sort(),
      paged: [...first.results, ...rest.results].map((r) => r.id),
      restPaging: rest.paging === undefined ? 'undefined' : rest.paging,
      future: future.total,
      text: text.results.map((r) => r.properties.firstname),
      unknown: { status: unknown.status, category: unknown.body.category },
    };
  },

  // Other objects and calls client code makes: deals, inline associations, merge, a custom
  // object through the generic objects API, and apiRequest for an endpoint by path.
  async objects(client) {
    const { deals, contacts, companies, objects } = client.crm;
    const deal = await deals.basicApi.create({ properties: { dealname: 'Big one', amount: 100, pipeline: 'default', dealstage: 'appointmentscheduled' } });
    // A number where the SDK's type says string, as JavaScript code writes amounts.
    const dealBatch = await deals.batchApi.update({ inputs: [{ id: deal.id, properties: { amount: 250.5 } }] });
    const acme = await companies.basicApi.create({ properties: { name: 'Acme Inline' } });
    const withLink = await contacts.basicApi.create({
      properties: { email: 'inline.node@example.com' },
      associations: [
        {
          to: { id: acme.id },
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: hubspot.AssociationTypes.contactToCompany }],
        },
      ],
    });
    const read = await contacts.basicApi.getById(withLink.id, ['email'], undefined, ['companies']);
    const twin = await contacts.basicApi.create({ properties: { email: 'twin.node@example.com', lastname: 'Twin' } });
    const merged = await contacts.basicApi.merge({ primaryObjectId: withLink.id, objectIdToMerge: twin.id });
    const schema = await client.crm.schemas.coreApi.create({
      name: 'boats_node',
      labels: { singular: 'Boat', plural: 'Boats' },
      primaryDisplayProperty: 'hull',
      requiredProperties: ['hull'],
      searchableProperties: ['hull'],
      properties: [{ name: 'hull', label: 'Hull', type: 'string', fieldType: 'text' }],
      associatedObjects: ['CONTACT'],
    });
    const boat = await objects.basicApi.create(schema.objectTypeId, { properties: { hull: 'H-1' }, associations: [] });
    const boatRead = await objects.basicApi.getById('boats_node', boat.id, ['hull']);
    const boatSearch = await objects.searchApi.doSearch(schema.objectTypeId, {
      filterGroups: [{ filters: [{ propertyName: 'hull', operator: 'EQ', value: 'H-1' }] }],
      properties: ['hull'],
      limit: 10,
      after: 0,
    });
    const response = await client.apiRequest({ path: '/crm/v3/objects/contacts' });
    const listed = await response.json();
    const putResponse = await client.apiRequest({
      method: 'PATCH',
      path: `/crm/v3/objects/deals/${deal.id}`,
      body: { properties: { dealname: 'Bigger one' } },
    });
    return {
      deal: { made: deal.properties.amount, amount: dealBatch.results[0].properties.amount, status: dealBatch.status },
      inline: (read.associations.companies.results || []).map((r) => ({ id: r.id, type: r.type })),
      acme: acme.id,
      kept: withLink.id,
      merged: merged.id,
      boat: { id: boat.id, read: boatRead.properties.hull, search: boatSearch.results.map((r) => r.id) },
      apiRequest: { status: response.status, count: listed.results.length, header: response.headers.get('x-hubspot-correlation-id') },
      apiPatch: { status: putResponse.status, dealname: (await putResponse.json()).properties.dealname },
    };
  },

  // The properties API: groups, an enumeration with options, update, batch read, archive.
  async properties(client) {
    const { coreApi, groupsApi, batchApi } = client.crm.properties;
    const group = await groupsApi.create('contacts', { name: 'node_group', label: 'Node group', displayOrder: -1 });
    const made = await coreApi.create('contacts', {
      name: 'tier_node',
      label: 'Tier',
      type: 'enumeration',
      fieldType: 'select',
      groupName: 'node_group',
      options: [
        { label: 'Gold', value: 'gold', displayOrder: 0, hidden: false },
        { label: 'Silver', value: 'silver', displayOrder: 1, hidden: false },
      ],
    });
    const updated = await coreApi.update('contacts', 'tier_node', { label: 'Customer tier' });
    const batch = await batchApi.read('contacts', { inputs: [{ name: 'tier_node' }, { name: 'email' }], archived: false });
    const groups = await groupsApi.getAll('contacts');
    await coreApi.archive('contacts', 'tier_node');
    const gone = await refused(coreApi.getByName('contacts', 'tier_node'));
    const archived = await coreApi.getAll('contacts', true);
    return {
      group: { name: group.name, label: group.label },
      made: { name: made.name, groupName: made.groupName, options: made.options.map((o) => o.value), createdAt: made.createdAt instanceof Date },
      updated: updated.label,
      batch: batch.results.map((r) => r.name).sort(),
      groups: groups.results.map((g) => g.name).includes('node_group'),
      gone: gone.status,
      archived: archived.results.filter((p) => p.name === 'tier_node').map((p) => ({ archived: p.archived, archivedAt: p.archivedAt instanceof Date })),
    };
  },

};

async function main() {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(cases);
  const out = {};
  for (const name of names) {
    if (!cases[name]) throw new Error(`no case named ${name}`);
    const exchanges = [];
    const models = [];
    shapes = { typeProblems: [], extraFields: [] };
    let outcome;
    try {
      recording = exchanges;
      outcome = { result: await cases[name](sdkClient(models), models) };
    } catch (error) {
      outcome = { error: thrown(error) };
    }
    const problems = models.flatMap(({ call, model }) =>
      typeof model === 'object' && model && typeof model.json !== 'function' ? modelProblems(model, call, []) : [],
    );
    out[name] = {
      ...outcome,
      calls: models.map(({ call }) => call),
      modelProblems: problems,
      typeProblems: shapes.typeProblems,
      extraFields: [...new Set(shapes.extraFields)].sort(),
      exchanges,
    };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${(error && error.stack) || error}\n`);
  process.exit(1);
});
