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
        RED.notify(node._(ns + '.ports.failed', { message: message }), { type: 'error', timeout: 5000 });
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
      let status = '';
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
    return { start: start, stop: stop };
  }

  window.FieldLink = {
    integerIn: integerIn,
    blankOrInteger: blankOrInteger,
    libraryDefault: libraryDefault,
    showDefaults: showDefaults,
    portPicker: portPicker,
    jobPanel: jobPanel,
  };
})();
