'use strict';
// views.js -- the HTML pages: the sign-up form (fresh, or with the errors of
// a rejected registration) and the success page.  No JavaScript in the page;
// every value is HTML-escaped.
//
// Accessibility: every input has a <label>; hints and errors are tied to
// their input with aria-describedby, and a field in error has
// aria-invalid="true" and its message right above the input; an error
// summary (role="alert", focused on load) links to each field in error;
// errors that belong to no field (internal_error, a bad request key) show
// in a banner.  The page title starts with "Error:" when there are errors.

const { TEXT } = require('./i18n');

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

// The form's inputs: field name (as farmreg reports it), input type,
// autocomplete token, text keys.
const INPUTS = [
  { field: 'username', type: 'text', autocomplete: 'username', label: 'username', hint: 'usernameHint', extra: ['spellcheck="false"', 'autocapitalize="none"'] },
  { field: 'password', type: 'password', autocomplete: 'new-password', label: 'password', hint: 'passwordHint', extra: [] },
  { field: 'name', type: 'text', autocomplete: 'name', label: 'name', hint: null, extra: [] },
  { field: 'email', type: 'email', autocomplete: 'email', label: 'email', hint: 'emailHint', extra: ['spellcheck="false"', 'autocapitalize="none"'] },
  { field: 'usda_uid', type: 'text', autocomplete: 'off', label: 'usdaUid', hint: 'usdaUidHint', extra: ['spellcheck="false"', 'autocapitalize="characters"'] },
];
const INPUT_FIELDS = INPUTS.map((i) => i.field);

function layout(locale, title, body) {
  return `<!DOCTYPE html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – ${esc(TEXT[locale].siteName)}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="site"><span class="brand">${esc(TEXT[locale].siteName)}</span></header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

// The form.  values: what the user typed (never the password); errors: the
// `errors` array of a registration_result; banner: extra banner copy.
function formPage({ locale, key, values = {}, errors = [], banner = null }) {
  const t = TEXT[locale];
  const byField = {};
  for (const e of errors) {
    if (INPUT_FIELDS.includes(e.field)) (byField[e.field] ||= []).push(e);
  }
  const banners = errors.filter((e) => !INPUT_FIELDS.includes(e.field));
  if (banner) banners.push({ code: 'unavailable', message: banner });
  const fieldErrors = INPUTS.filter((i) => byField[i.field]);
  const hasErrors = fieldErrors.length > 0 || banners.length > 0;

  let html = `<h1>${esc(t.title)}</h1>\n`;
  // Only one element gets autofocus: the banner, or else the summary.
  for (const [n, e] of banners.entries()) {
    html += `<div class="banner" role="alert" id="banner${n ? `-${n}` : ''}"${n === 0 ? ' tabindex="-1" autofocus' : ''}>`
          + `<p class="message" data-code="${esc(e.code)}">${esc(e.message)}</p></div>\n`;
  }
  if (fieldErrors.length) {
    html += `<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1"${banners.length ? '' : ' autofocus'}>
<h2 id="error-summary-title">${esc(t.summaryTitle)}</h2>
<ul>
${fieldErrors.flatMap((i) => byField[i.field].map((e) => `<li><a href="#${i.field}">${esc(e.message)}</a></li>`)).join('\n')}
</ul>
</div>\n`;
  }
  html += `<p class="intro">${esc(t.intro)}</p>
<form method="post" action="/" novalidate>
<input type="hidden" name="idempotency_key" value="${esc(key)}">
`;
  for (const i of INPUTS) {
    const errs = byField[i.field] || [];
    const describedBy = [];
    let inner = `<label for="${i.field}">${esc(t[i.label])}</label>\n`;
    if (i.hint) {
      inner += `<p class="hint" id="${i.field}-hint">${esc(t[i.hint])}</p>\n`;
      describedBy.push(`${i.field}-hint`);
    }
    if (i.field === 'password' && hasErrors) {
      inner += `<p class="hint" id="password-again">${esc(t.passwordAgain)}</p>\n`;
      describedBy.push('password-again');
    }
    if (errs.length) {
      inner += `<p class="field-error" id="${i.field}-error">`
             + errs.map((e) => `<span class="visually-hidden">${esc(t.errorPrefix)} </span>`
               + `<span class="message" data-code="${esc(e.code)}">${esc(e.message)}</span>`).join('<br>')
             + '</p>\n';
      describedBy.push(`${i.field}-error`);
    }
    // the password is never written back into the page
    const value = i.field === 'password' ? '' : (values[i.field] ?? '');
    const attrs = [`id="${i.field}"`, `name="${i.field}"`, `type="${i.type}"`,
      `autocomplete="${i.autocomplete}"`, `value="${esc(value)}"`, 'required', ...i.extra];
    if (describedBy.length) attrs.push(`aria-describedby="${describedBy.join(' ')}"`);
    if (errs.length) attrs.push('aria-invalid="true"');
    inner += `<input ${attrs.join(' ')}>\n`;
    html += `<div class="field${errs.length ? ' field--error' : ''}" id="${i.field}-field">\n${inner}</div>\n`;
  }
  html += `<button type="submit">${esc(t.submit)}</button>
</form>`;
  return layout(locale, (hasErrors ? t.errorTitlePrefix : '') + t.title, html);
}

function successPage({ locale, name, registration }) {
  const t = TEXT[locale];
  const r = registration;
  return layout(locale, t.successTitle, `<div class="success" role="status">
<h1 id="success-title" tabindex="-1" autofocus>${esc(t.successTitle)}</h1>
<p>${esc(t.successIntro(name))}</p>
<dl class="ids">
<dt>${esc(t.userId)}</dt><dd id="user-id">${esc(r.user_id)}</dd>
<dt>${esc(t.farmId)}</dt><dd id="farm-id">${esc(r.farm_id)}</dd>
<dt>${esc(t.farmerId)}</dt><dd id="farmer-id">${esc(r.farmer_id)}</dd>
</dl>
</div>
<p><a href="/">${esc(t.another)}</a></p>`);
}

module.exports = { INPUTS, INPUT_FIELDS, formPage, successPage, esc };
