// The API reference: renders /openapi.json and sends requests from the page ("Try it").
'use strict';
(function () {
  const $ = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') el.className = v; else if (k.startsWith('on')) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) el.append(kid);
    return el;
  };
  const tokenInput = document.getElementById('token');
  tokenInput.value = sessionStorage.getItem('tablepay-docs-token') || '';
  tokenInput.addEventListener('change', () => sessionStorage.setItem('tablepay-docs-token', tokenInput.value));
  let spec;

  const resolve = (schema) => {
    if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split('/').pop()] || {};
    return schema || {};
  };
  // A small example value for a schema, so a request body starts from something valid-looking.
  const example = (schema, depth) => {
    const s = resolve(schema);
    if (depth > 4) return null;
    if (s.example !== undefined) return s.example;
    if (s.oneOf) return example(s.oneOf[0], depth + 1);
    if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => example(x, depth + 1)));
    const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
    if (s.enum) return s.enum[0];
    if (type === 'object' || s.properties) {
      const out = {};
      for (const name of s.required || []) out[name] = example((s.properties || {})[name], depth + 1);
      return out;
    }
    if (type === 'array') return [example(s.items, depth + 1)];
    if (type === 'integer' || type === 'number') return s.minimum || 0;
    if (type === 'boolean') return false;
    if (type === 'string') return s.format === 'date-time' ? new Date().toISOString() : '';
    return null;
  };
  const typeName = (schema) => {
    if (!schema) return '';
    if (schema.$ref) return schema.$ref.split('/').pop();
    if (schema.oneOf) return schema.oneOf.map(typeName).join(' | ');
    if (schema.type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'))) return typeName(schema.items) + '[]';
    return [].concat(schema.type || 'any').join(' | ') + (schema.format ? ` (${schema.format})` : '');
  };
  // What a field holds, when it is an object of its own (or a list of them, or one of several).
  const inner = (prop) => {
    let p = resolve(prop);
    if (p.items) p = resolve(p.items);
    if (p.allOf && p.allOf.length === 1) p = resolve(p.allOf[0]);
    return p.properties || p.oneOf ? p : null;
  };
  // A type's fields, with the types nested in it explained where they are used.
  const schemaTable = (schema, depth = 0) => {
    const s = resolve(schema);
    if (s.oneOf && depth < 4) {
      return $('div', { class: 'variants' }, $('p', {}, 'One of:'),
        ...s.oneOf.map((v) => $('div', { class: 'variant' }, $('p', {}, $('code', {}, typeName(v))), schemaTable(v, depth + 1))));
    }
    if (!s.properties) return $('p', {}, typeName(schema));
    const rows = Object.entries(s.properties).flatMap(([name, prop]) => {
      const row = $('tr', {}, $('td', {}, $('code', {}, name)), $('td', {}, typeName(prop)),
        $('td', {}, (s.required || []).includes(name) ? 'required' : 'optional'), $('td', {}, ...rich(prop.description)));
      const nested = depth < 3 && inner(prop);
      return nested ? [row, $('tr', { class: 'nested' }, $('td', { colspan: '4' }, schemaTable(nested, depth + 1)))] : [row];
    });
    return $('div', { class: 'scroll' }, $('table', {}, $('thead', {}, $('tr', {}, $('th', {}, 'field'), $('th', {}, 'type'), $('th', {}, ''), $('th', {}, ''))), $('tbody', {}, ...rows)));
  };

  const tryIt = (method, path, op) => {
    const params = (op.parameters || []).filter((p) => p.in === 'path' || p.in === 'query');
    const inputs = params.map((p) => [p, $('input', { type: 'text', 'aria-label': `${p.name} (${p.in})` })]);
    const content = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    const body = content ? $('textarea', { rows: '6', 'aria-label': 'request body (JSON)' }) : null;
    if (body) body.value = JSON.stringify(example(content.schema, 0), null, 2);
    const out = $('pre', { 'aria-live': 'polite' });
    const send = async () => {
      let url = path;
      const query = new URLSearchParams();
      for (const [p, input] of inputs) {
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(input.value));
        else if (input.value) query.set(p.name, input.value);
      }
      if ([...query].length) url += `?${query}`;
      const headers = { accept: 'application/json' };
      if (tokenInput.value) headers.authorization = `Bearer ${tokenInput.value}`;
      if (body) headers['content-type'] = 'application/json';
      out.textContent = `${method.toUpperCase()} ${url} …`;
      try {
        const res = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
        const text = await res.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
        out.textContent = `${res.status} ${res.statusText}\n${shown}`;
      } catch (e) {
        out.textContent = String(e);
      }
    };
    return $('div', { class: 'try' },
      ...inputs.map(([p, input]) => $('label', {}, `${p.name} (${p.in}${p.required ? ', required' : ''})`, input)),
      body ? $('label', {}, 'Body', body) : null,
      $('button', { type: 'button', onclick: send }, 'Send'), out);
  };

  // Handler docs open with their own `METHOD /path`, which the heading already shows.
  const prose = (text) => (text || '').replace(/^`(GET|POST|PUT|PATCH|DELETE) [^`]*`\s*[:;,]?\s*/, '');
  // Text with its `code spans` set as code.
  const rich = (text) => String(text || '').split('`').map((part, i) => (i % 2 ? $('code', {}, part) : part));

  const operation = (method, path, op) => {
    const responses = Object.entries(op.responses || {}).map(([status, r]) => {
      const media = Object.entries(r.content || {})[0];
      return $('tr', {}, $('td', {}, status), $('td', {}, r.description || ''), $('td', {}, media ? `${media[0]}: ${typeName(media[1].schema)}` : ''));
    });
    const requestSchema = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    const ok = Object.entries(op.responses || {}).find(([status, r]) => /^2/.test(status) && r.content && r.content['application/json']);
    const responseSchema = ok && ok[1].content['application/json'].schema;
    const details = $('details', { class: 'op', 'data-search': `${method} ${path} ${(op.tags || []).join(' ')}`.toLowerCase() },
      $('summary', {}, $('span', { class: `method ${method}` }, method), $('span', { class: 'path' }, path),
        $('span', { class: 'sum' }, op.summary || prose(op.description).split('\n')[0])),
      $('div', { class: 'body' },
        op.description ? $('p', {}, ...rich(prose(op.description))) : null,
        op.security ? $('p', {}, 'Needs a bearer credential.') : null,
        requestSchema ? $('h3', {}, 'Request body') : null,
        requestSchema ? schemaTable(requestSchema.schema) : null,
        $('h3', {}, 'Responses'),
        $('div', { class: 'scroll' }, $('table', {}, $('tbody', {}, ...responses))),
        responseSchema && (resolve(responseSchema).properties || resolve(responseSchema).oneOf) ? $('h3', {}, `Response body (${ok[0]})`) : null,
        responseSchema && (resolve(responseSchema).properties || resolve(responseSchema).oneOf) ? schemaTable(responseSchema) : null,
        $('h3', {}, 'Try it'), tryIt(method, path, op)));
    return details;
  };

  const render = () => {
    const main = document.getElementById('operations');
    const groups = new Map();
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        if (!item[method]) continue;
        const tag = (item[method].tags || ['other'])[0];
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operation(method, path, item[method]));
      }
    }
    main.replaceChildren(...[...groups].flatMap(([tag, ops]) => [$('h2', {}, tag), ...ops]));
    document.getElementById('summary').textContent = `${spec.info.description || ''} OpenAPI ${spec.openapi}, version ${spec.info.version}.`;
  };

  document.getElementById('filter').addEventListener('input', (e) => {
    const q = e.target.value.toLowerCase();
    for (const op of document.querySelectorAll('details.op')) op.hidden = q && !op.dataset.search.includes(q);
  });
  fetch('/openapi.json').then((r) => r.json()).then((doc) => { spec = doc; render(); })
    .catch((e) => { document.getElementById('summary').textContent = `Could not load /openapi.json: ${e}`; });
})();
