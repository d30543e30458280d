'use strict';
// Message lookup for the runtime side of the nodes. RED._ resolves keys against the node's
// catalog (nodes/locales/<lang>/<file>.json). Where no catalog is registered (the test
// helper's RED._ returns the key itself, a node loaded without its locales folder), the
// English catalog shipped next to this file is used, so status texts stay readable.
const fs = require('node:fs');
const path = require('node:path');

const fallbacks = new Map();

function englishCatalog(name) {
  if (!fallbacks.has(name)) {
    let catalog = {};
    try {
      catalog = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'locales', 'en-US', `${name}.json`), 'utf8'));
    } catch {
      /* no catalog: keys are shown as they are */
    }
    fallbacks.set(name, catalog);
  }
  return fallbacks.get(name);
}

function lookup(catalog, key) {
  let at = catalog;
  for (const part of key.split('.')) {
    if (at === null || typeof at !== 'object' || !(part in at)) return undefined;
    at = at[part];
  }
  return typeof at === 'string' ? at : undefined;
}

// Node-RED's i18next is set up with __name__ placeholders.
function interpolate(text, vars) {
  if (!vars) return text;
  return text.replace(/__([A-Za-z0-9_]+)__/g, (whole, name) => (vars[name] === undefined ? whole : String(vars[name])));
}

/**
 * translator(RED, 'modbus-sensor') -> t(key, vars): RED._ with a fallback to the English
 * catalog nodes/locales/en-US/modbus-sensor.json.
 */
function translator(RED, catalogName) {
  return function t(key, vars) {
    let text;
    try {
      text = RED._(key, vars);
    } catch {
      text = undefined;
    }
    if (typeof text !== 'string' || text === key || text.endsWith(`:${key}`)) {
      const english = lookup(englishCatalog(catalogName), key);
      text = english === undefined ? key : interpolate(english, vars);
    }
    return text;
  };
}

module.exports = { translator, interpolate, lookup };
