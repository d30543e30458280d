// What the fieldlink editor panels share (served by Node-RED at
// resources/fieldlink/fieldlink-editor.js, loaded by each node's .html):
//   FieldLink.integerIn / blankOrInteger   validators for defaults: { x: { validate } }
//   FieldLink.libraryDefault(family, key)  a value of lib/defaults.js (GET fieldlink/defaults)
//   FieldLink.showDefaults(node, ns, family, fields)
//                                          an empty field means the library's default: shown
//                                          as the input's placeholder, or as a select's first
//                                          option "default (X)"
//   FieldLink.portPicker(node, ns, input, button)
//                                          the serial port picker (GET fieldlink/ports)
//   FieldLink.jobPanel(node, options)      the Test / Scan buttons: a job started by POST,
//                                          followed by polling, cancellable (nodes/lib/jobs.js)
//   FieldLink.deviceType(type, options)    registers a device flow node: its common settings
//                                          (config node, hub port, poll interval, topic, name)
//                                          and its edit form, around the node's own rows
(function () {
  'use strict';
  if (window.FieldLink) return;

  let library = null;
  const waiting = [];
  $.getJSON('fieldlink/defaults').done(function (d) {
    library = d;
    waiting.splice(0).forEach(function (fn) { fn(d); });
  });

  function withDefaults(fn) {
    if (library) fn(library);
    else waiting.push(fn);
  }

  function libraryDefault(family, key) {
    return library && library[family] ? library[family][key] : undefined;
  }

  function integerIn(lo, hi) {
    return function (v) {
      const n = Number(v);
      return String(v).trim() !== '' && Number.isInteger(n) && n >= lo && n <= hi;
    };
  }

  function blankOrInteger(lo, hi) {
    return function (v) {
      if (v === undefined || v === null || String(v).trim() === '') return true;
      return integerIn(lo, hi)(v);
    };
  }

  /** fields: [name] or [{ field, key }] (the input's name, the library's key when it differs). */
  function showDefaults(node, ns, family, fields) {
    withDefaults(function (d) {
      fields.forEach(function (f) {
        const field = typeof f === 'string' ? f : f.field;
        const key = typeof f === 'string' ? f : f.key;
        const value = d[family] ? d[family][key] : undefined;
        if (value === undefined) return;
        const el = $('#node-config-input-' + field);
        if (el.is('select')) {
          let opt = el.find('option[value=""]');
          if (!opt.length) opt = $('<option value="">').prependTo(el);
          opt.text(node._(ns + '.label.libraryDefault', { value: String(value) }));
          const saved = node[field];
          el.val(saved === undefined || saved === null ? '' : String(saved));
        } else {
          el.attr('placeholder', String(value));
        }
      });
    });
  }

  function portPicker(node, ns, input, button) {
    input.autocomplete({
      minLength: 0,
      source: [],
      select: function (event, ui) {
        input.val(ui.item.value).trigger('change');
        return false;
      },
    });
    input.autocomplete('instance')._renderItem = function (ul, item) {
      const p = item.port;
      const row = $('<div>').css({ 'line-height': '1.3em', padding: '2px 0' });
      $('<div>').css({ 'font-family': 'monospace' }).text(p.preferredPath || p.path).appendTo(row);
      const about = [p.manufacturer, p.product, p.chip].filter(Boolean).join(' · ');
      const second = $('<div>').css({ 'font-size': '0.85em', opacity: 0.8 }).appendTo(row);
      if (p.isRs485) {
        $('<span>').css({
          background: '#3a7d3a', color: '#fff', 'border-radius': '3px', padding: '0 4px', 'margin-right': '6px',
        }).text(node._(ns + '.ports.rs485')).appendTo(second);
      }
      $('<span>').text(about || p.description || '').appendTo(second);
      if (p.byIdPath && p.byIdPath !== p.path) {
        $('<span>').css({ 'margin-left': '6px', opacity: 0.7 }).text('→ ' + p.path).appendTo(second);
      }
      return $('<li>').append(row).appendTo(ul);
    };
    button.on('click', function (event) {
      event.preventDefault();
      const icon = button.find('i').removeClass('fa-search').addClass('fa-spinner fa-spin');
      $.getJSON('fieldlink/ports').done(function (ports) {
        if (!ports.length) {
          RED.notify(node._(ns + '.ports.none'), { type: 'warning', timeout: 3000 });
          return;
        }
        input.autocomplete('option', 'source', ports.map(function (p) {
          const path = p.preferredPath || p.path;
          return { label: path, value: path, port: p };
        }));
        input.autocomplete('search', '');
        input.trigger('focus');
      }).fail(function (xhr) {
        const message = (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || String(xhr.status);
        RED.notify(node._(ns + '.ports.failed', { message }), { type: 'error', timeout: 5000 });
      }).always(function () {
        icon.removeClass('fa-spinner fa-spin').addClass('fa-search');
      });
    });
  }

  function xhrMessage(node, ns, xhr) {
    if (xhr.status === 401 || xhr.status === 403) return node._(ns + '.diag.denied');
    const body = xhr.responseJSON;
    return node._(ns + '.diag.requestFailed', { message: (body && (body.error || body.code)) || xhr.statusText || String(xhr.status) });
  }

  /** One finding (code, message, suggestion, bytes) as a block. */
  function findingBlock(f) {
    const muted = f.details && f.details.intermediate;
    const row = $('<div>').css({ margin: '4px 0', opacity: muted ? 0.65 : 1 });
    const head = $('<div>').appendTo(row);
    $('<i>').addClass('fa ' + (f.ok ? 'fa-check' : 'fa-times')).css({ color: f.ok ? '#3a7d3a' : (muted ? '#999' : '#c0392b'), width: '14px' }).appendTo(head);
    $('<b>').css({ 'margin-right': '6px' }).text(' ' + f.code).appendTo(head);
    if (f.step) $('<span>').css({ opacity: 0.7, 'margin-right': '6px' }).text('[' + f.step + ']').appendTo(head);
    $('<span>').text(f.message).appendTo(head);
    if (f.suggestion) $('<div>').css({ 'margin-left': '18px' }).text('→ ' + f.suggestion).appendTo(row);
    if (f.rawData) $('<div>').css({ 'margin-left': '18px', 'font-family': 'monospace', 'font-size': '0.9em', 'word-break': 'break-all' }).text(f.rawData).appendTo(row);
    return row;
  }

  /**
   * The Test / Scan buttons of a panel. options: ns (the catalog: <ns>.diag.running / cancelled /
   * failed / denied / requestFailed), base ('fieldlink/modbus-bus'), output (the element the job is
   * shown in), buttons (the start buttons, disabled while a job runs), cancel (the Cancel button,
   * shown while one runs), progressText(job) (text for a running job's progress, or ''),
   * doneText(job) (text for a finished job, or '' for the verdict), extra(job, out) (what the
   * family shows after the findings).
   * Returns { start(kind, body), stop(cancelIt) }.
   */
  function jobPanel(node, o) {
    let active = null; // { id, timer, running } of the job this panel follows

    function render(job) {
      const out = o.output.empty().show();
      const running = job.state === 'running';
      const head = $('<div>').css({ 'margin-bottom': '4px' }).appendTo(out);
      if (running) $('<i>').addClass('fa fa-spinner fa-spin').css({ 'margin-right': '6px' }).appendTo(head);
      let status;
      if (running) {
        status = (job.progress && o.progressText && o.progressText(job)) || node._(o.ns + '.diag.running');
      } else if (job.state === 'cancelled') {
        status = node._(o.ns + '.diag.cancelled');
      } else if (job.state === 'failed') {
        status = node._(o.ns + '.diag.failed', { message: (job.error && job.error.message) || '' });
      } else {
        status = (o.doneText && o.doneText(job)) || '';
        if (!status && job.findings.length) {
          const verdict = job.findings[job.findings.length - 1];
          status = (verdict.ok ? '✓ ' : '✗ ') + verdict.code;
        }
      }
      $('<span>').text(job.target + ': ' + status).appendTo(head);
      if (job.note) $('<div>').addClass('form-tips').css({ margin: '4px 0' }).text(job.note).appendTo(out);
      (job.findings || []).forEach(function (f) { findingBlock(f).appendTo(out); });
      if (o.extra) o.extra(job, out);
    }

    function stop(cancelIt) {
      if (!active) return;
      clearTimeout(active.timer);
      if (cancelIt && active.running) $.post(o.base + '/jobs/' + encodeURIComponent(active.id) + '/cancel');
      active = null;
      if (o.cancel) o.cancel.hide();
      o.buttons.removeClass('disabled');
    }

    function follow(job) {
      const mine = { id: job.id, timer: null, running: true };
      active = mine;
      if (o.cancel) o.cancel.show();
      o.buttons.addClass('disabled');
      function poll() {
        $.getJSON(o.base + '/jobs/' + encodeURIComponent(mine.id)).done(function (j) {
          if (active !== mine) return;
          render(j);
          if (j.state === 'running') mine.timer = setTimeout(poll, 400);
          else {
            mine.running = false;
            stop(false);
          }
        }).fail(function (xhr) {
          if (active !== mine) return;
          o.output.empty().show().text(xhrMessage(node, o.ns, xhr));
          stop(false);
        });
      }
      render(job);
      mine.timer = setTimeout(poll, 300);
    }

    function start(kind, body) {
      if (active) return;
      o.output.empty().show().append($('<i>').addClass('fa fa-spinner fa-spin'));
      $.ajax({
        url: o.base + '/' + kind,
        method: 'POST',
        contentType: 'application/json',
        data: JSON.stringify(body),
        dataType: 'json',
      }).done(follow).fail(function (xhr) {
        o.output.empty().show().text(xhrMessage(node, o.ns, xhr));
      });
    }

    if (o.cancel) {
      o.cancel.on('click', function (event) {
        event.preventDefault();
        if (active) $.post(o.base + '/jobs/' + encodeURIComponent(active.id) + '/cancel');
      });
    }
    return { start, stop };
  }

  // --- device flow nodes ---------------------------------------------------------------------

  const CONFIG_ICON = { bus: 'fa-random', device: 'fa-server' };

  function intervalOk(v) {
    if (v === undefined || String(v).trim() === '') return true;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0;
  }

  function hubPortOk(v) {
    if (v === undefined || v === null || v === '' || v === 'auto') return true;
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 && n <= 10;
  }

  /** One row of an edit form: a label with icon and text <ns>.label.<field>, then `input`. */
  function formRow(ns, field, icon, input) {
    return '<div class="form-row"><label for="node-input-' + field + '"><i class="fa ' + icon + '"></i> ' +
      '<span data-i18n="' + ns + '.label.' + field + '"></span></label>' + input + '</div>';
  }

  function tip(ns, key) {
    return '<div class="form-tips" style="margin-left: 105px; margin-top: 4px;" data-i18n="' + ns + '.label.' + key + '"></div>';
  }

  /**
   * options: ns (the catalog), color, icon, config { field: 'bus' | 'device', type }, hubPort
   * (a MATE node: the hub port setting), polls (a poll interval, seconds), rows (the form rows of
   * the node's own settings, HTML), topic (the default topic shown as placeholder; false: no
   * topic), defaults (the node's own settings), outputs, inputLabels, outputLabels, label()
   * (default: the name, else <ns>.label.defaultLabel), oneditprepare().
   */
  function deviceType(type, o) {
    const ns = o.ns;
    const defaults = { name: { value: '' } };
    defaults[o.config.field] = { value: '', type: o.config.type, required: true };
    let form = formRow(ns, o.config.field, CONFIG_ICON[o.config.field], '<input type="text" id="node-input-' + o.config.field + '">');
    if (o.hubPort) {
      defaults.port = { value: 'auto', validate: hubPortOk };
      form += formRow(ns, 'port', 'fa-sitemap', '<select id="node-input-port" style="width: 70%;"></select>' + tip(ns, 'portTip'));
    }
    Object.keys(o.defaults || {}).forEach(function (k) { defaults[k] = o.defaults[k]; });
    form += o.rows || '';
    if (o.polls) {
      defaults.interval = { value: 10, validate: intervalOk };
      form += formRow(ns, 'interval', 'fa-repeat', '<input type="text" id="node-input-interval" style="width: 80px;"> <span data-i18n="' + ns + '.label.seconds"></span>');
    }
    if (o.topic !== false) {
      defaults.topic = { value: '' };
      form += formRow(ns, 'topic', 'fa-tasks', '<input type="text" id="node-input-topic" style="width: 70%;">');
    }
    form += formRow(ns, 'name', 'fa-tag', '<input type="text" id="node-input-name">');
    $('<script type="text/html">').attr('data-template-name', type).text(form).appendTo(document.body);

    RED.nodes.registerType(type, {
      category: 'fieldlink',
      color: o.color,
      defaults,
      inputs: 1,
      outputs: o.outputs,
      icon: 'font-awesome/' + o.icon,
      paletteLabel: function () { return this._(ns + '.paletteLabel'); },
      label: o.label || function () {
        const port = o.hubPort && this.port !== 'auto' && this.port !== '' && this.port !== undefined ? ' @' + this.port : '';
        return this.name || this._(ns + '.label.defaultLabel') + port;
      },
      labelStyle: function () { return this.name ? 'node_label_italic' : ''; },
      inputLabels: o.inputLabels,
      outputLabels: o.outputLabels,
      oneditprepare: function () {
        if (o.hubPort) {
          const select = $('#node-input-port');
          $('<option>').val('auto').text(this._(ns + '.label.auto')).appendTo(select);
          for (let p = 0; p <= 10; p++) $('<option>').val(String(p)).text(String(p)).appendTo(select);
          select.val(this.port === undefined || this.port === '' ? 'auto' : String(this.port));
        }
        if (typeof o.topic === 'string') $('#node-input-topic').attr('placeholder', o.topic);
        if (o.oneditprepare) o.oneditprepare.call(this);
      },
    });
  }

  window.FieldLink = {
    deviceType,
    formRow,
    tip,
    integerIn,
    blankOrInteger,
    libraryDefault,
    showDefaults,
    portPicker,
    jobPanel,
  };
})();
