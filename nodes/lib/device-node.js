'use strict';
// What every device flow node (Modbus sensor; M307 status, log, config; MATE MX, FX, DC, FX
// control) does alike on top of its config node (nodes/lib/config-node.js):
//   - checks its settings once: a bad one leaves the node red and idle (`problem`);
//   - a status dot that follows the link (connecting / reconnecting in N s / bad settings /
//     closed), and the outcome of the last request while the link is open;
//   - a message that comes while the link is being opened waits for the outcome of that
//     attempt instead of failing, and fails at once (ENOTCONNECTED) while there is no link;
//   - the poll loop (a tick is skipped while the previous read is still out; one read right
//     after the link (re)opens);
//   - error reporting: done(err) / node.error(err, msg), so Catch nodes get err.code, except
//     for what a redeploy cancels;
//   - availability on the node's last output when it polls (nodes/lib/availability.js).
// Texts come from the node's own catalog: <prefix>.status.connected / connecting /
// reconnecting / badSettings / closed / noBus (noDevice) / error and <prefix>.error.badInterval /
// noBus (noDevice).
const { ValidationError } = require('../../lib/errors');
const { availability, staleAt } = require('./availability');

const NO_AVAILABILITY = { online() {}, offline() {}, fromError() {}, fromLinkState() {} };

/**
 * deviceNode(RED, node, config, options) -> ctx (see the object at the end).
 * options: t, prefix (the catalog), configField ('bus' | 'device': the config node's field;
 * it is node.busNode / node.deviceNode), topic (the default topic), polls (the node has
 * config.interval, seconds, 0: only on input), outputs (with polls: the last one carries
 * availability), minInterval (s), check() (throws a ValidationError for a bad setting of the
 * node's own), device(link, resource) (what work() gets, made once per resource; default: the
 * resource itself), keepOutcome() (true: the link leaving 'open' does not clear the last outcome).
 */
function deviceNode(RED, node, config, options) {
  const {
    t, prefix, configField = 'bus', topic, polls = false, outputs = 2, minInterval = 0.2,
    check = () => {}, device: makeDevice = (link, resource) => resource, keepOutcome = () => false,
  } = options;
  const missing = configField === 'bus' ? 'noBus' : 'noDevice';
  const cfgName = `${configField}Node`;
  node.name = config.name;
  node[cfgName] = RED.nodes.getNode(config[configField]);
  node.topic = (config.topic && String(config.topic).trim()) || topic;
  const intervalText = config.interval === undefined || config.interval === null || config.interval === '' ? '0' : String(config.interval);
  node.interval = polls ? Number(intervalText) : 0;
  node.pollsSkipped = 0;

  let closed = false;
  let unsubscribe = null;
  let device = null;
  let deviceOf = null; // the resource `device` was made for
  let lastOutcome = null; // the status of the last request while the link was open
  let linkState = null;
  const pending = new Set(); // waits in settled(), ended on close
  const openListeners = [];
  const avail = polls ? availability(node, { outputs }) : NO_AVAILABILITY;

  let problem = null;
  try {
    check();
    if (!(Number.isFinite(node.interval) && node.interval >= 0)) {
      throw new ValidationError(t(`${prefix}.error.badInterval`, { interval: intervalText }), 'ERANGE', { argument: 'interval' });
    }
    if (!node[cfgName]) throw new ValidationError(t(`${prefix}.error.${missing}`), 'EINVAL', { argument: configField });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    problem = err;
  }
  const cfg = () => node[cfgName];

  function setStatus(fill, shape, text) {
    node.status({ fill, shape, text });
  }

  function showLinkState(st) {
    switch (st.state) {
      case 'open':
        if (lastOutcome) node.status(lastOutcome);
        else setStatus('green', 'ring', t(`${prefix}.status.connected`));
        break;
      case 'connecting':
        setStatus('yellow', 'ring', t(`${prefix}.status.connecting`));
        break;
      case 'reconnecting':
        setStatus('yellow', 'ring', t(`${prefix}.status.reconnecting`, {
          seconds: Math.max(1, Math.ceil((st.retryIn || 0) / 1000)),
          code: (st.error && st.error.code) || 'ECONNLOST',
        }));
        break;
      case 'failed':
        setStatus('red', 'ring', t(`${prefix}.status.badSettings`, { code: (st.error && st.error.code) || 'EINVAL' }));
        break;
      default:
        setStatus('grey', 'ring', t(`${prefix}.status.closed`));
    }
  }

  function onLinkState(st) {
    const previous = linkState;
    linkState = st.state;
    if (st.state !== 'open' && !keepOutcome()) lastOutcome = null; // a reading from before an outage is stale
    showLinkState(st);
    // A node that polls hears of its device all the time, so the link going down means
    // offline; one that reads on demand only reports what its reads found.
    if (node.interval > 0) avail.fromLinkState(st);
    if (st.state === 'open' && previous !== 'open') for (const fn of openListeners) fn();
  }

  /** What work() gets: made once per resource of the link (the bus, the client). */
  async function currentDevice() {
    const link = cfg().link;
    const resource = link && link.resource;
    if (!resource) throw cfg().notConnected();
    if (resource !== deviceOf || !device) {
      device = null;
      deviceOf = resource;
      const made = await makeDevice(link, resource);
      if (deviceOf === resource) device = made;
      return made;
    }
    return device;
  }

  // While the link is being opened (first attempt or a retry), a request waits for the outcome
  // of that attempt instead of failing.
  function settled() {
    if (cfg().state.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      // subscribe() calls back at once with 'connecting', so end() cannot run before off exists.
      const off = cfg().subscribe((st) => {
        if (st.state !== 'connecting') end();
      });
      function end() {
        pending.delete(end);
        off();
        resolve();
      }
      pending.add(end);
    });
  }

  function outcome(fill, shape, text) {
    lastOutcome = { fill, shape, text };
    node.status(lastOutcome);
  }

  function showError(err) {
    outcome('red', 'ring', t(`${prefix}.status.error`, { code: (err && (err.code || err.name)) || 'ERROR' }));
  }

  /** Runs work(device) once the link has settled; rejects at once when it is not open. */
  async function withDevice(work) {
    await settled();
    if (closed) return undefined;
    let out;
    try {
      const dev = await currentDevice();
      out = await work(dev);
    } catch (err) {
      if (!closed) avail.fromError(err);
      throw err;
    }
    if (!closed) avail.online();
    return out;
  }

  /**
   * The poll loop: read(msg) every `interval` seconds and right after the link opens; resolves
   * with what to send (a message, an array for several outputs, or null).
   */
  function startPolling(read) {
    let polling = false;
    const poll = async () => {
      if (closed) return;
      if (polling) {
        node.pollsSkipped += 1;
        return;
      }
      if (cfg().state.state !== 'open') return; // the status shows why
      polling = true;
      const msg = { topic: node.topic };
      try {
        const out = await read(msg);
        if (!closed && out) node.send(out);
      } catch (err) {
        if (!closed) {
          showError(err);
          node.error(err, msg);
        }
      } finally {
        polling = false;
      }
    };
    openListeners.push(poll);
    const timer = setInterval(poll, Math.max(minInterval, node.interval) * 1000);
    node.on('close', () => clearInterval(timer));
    if (linkState === 'open') poll();
    return poll;
  }

  /** The input handler: fn(msg, send) resolves with what to send (or null). */
  function onInput(fn) {
    node.on('input', (msg, send, done) => {
      if (problem) {
        done(problem);
        return;
      }
      let work;
      try {
        work = Promise.resolve(fn(msg, send));
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        (out) => {
          if (closed) return done();
          if (out) send(out);
          done();
        },
        (err) => {
          // A redeploy cancels what is in flight (ECLOSED): that is not worth a Catch.
          if (closed) return done();
          showError(err);
          done(err);
        },
      );
    });
  }

  /** Shows a bad setting, or follows the link; then starts polling with read() when given. */
  function start(read) {
    if (problem) {
      setStatus('red', 'ring', problem.argument === configField ? t(`${prefix}.status.${missing}`) : t(`${prefix}.status.badSettings`, { code: problem.code }));
      node.error(problem);
      return;
    }
    unsubscribe = cfg().subscribe(onLinkState);
    if (read && node.interval > 0) startPolling(read);
  }

  node.on('close', (removed, done) => {
    closed = true;
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    for (const end of [...pending]) end();
    done();
  });

  return {
    get problem() { return problem; },
    get closed() { return closed; },
    start,
    setStatus,
    outcome,
    showError,
    withDevice,
    onInput,
    /** Makes the next request make its device afresh (say, after the unit's address changed). */
    forgetDevice() { device = null; },
    /** How long a reading taken at `timestamp` stays fresh (null when the node does not poll). */
    staleAt: (timestamp) => staleAt(timestamp, node.interval),
    /** A ValidationError for msg.payload.<field>. */
    invalid(key, vars, field, code = 'EINVAL') {
      return new ValidationError(t(`${prefix}.error.${key}`, vars), code, { argument: `msg.payload.${field}` });
    },
  };
}

/** msg.payload as an object ({} for anything else: an Inject timestamp means "read"). */
function payloadObject(msg) {
  const p = msg.payload;
  return p !== null && typeof p === 'object' && !Array.isArray(p) ? p : {};
}

/** Dashboard inputs often deliver numbers as text. */
function numberish(value) {
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return value;
}

module.exports = { deviceNode, payloadObject, numberish };
