'use strict';
// i18n.js -- the page's own words in English and Spanish, and the choice of
// language from the browser's Accept-Language header.  The error copy is not
// here: it comes from farmreg's message catalog, in the same language, with
// the result of register_farm_admin.

const LOCALES = ['en', 'es'];

const TEXT = {
  en: {
    siteName: 'NomNomsFarm',
    title: 'Register your farm',
    intro: 'Create your NomNomsFarm account and claim your farm with its USDA ID. All fields are required.',
    username: 'Username',
    usernameHint: '3 to 32 characters: letters, digits, underscores, dots and hyphens.',
    password: 'Password',
    passwordHint: 'At least 8 characters.',
    passwordAgain: 'For your security we did not keep your password: please enter it again.',
    name: 'Your name',
    email: 'Email address',
    emailHint: 'We will send your account details here.',
    usdaUid: 'USDA farm ID',
    usdaUidHint: 'As on your farm’s USDA record, for example USDA-10001.',
    submit: 'Create account',
    summaryTitle: 'There is a problem',
    errorPrefix: 'Error:',
    errorTitlePrefix: 'Error: ',
    unavailable: 'We could not reach the registration service. Please try again in a moment.',
    successTitle: 'Your farm is registered',
    successIntro: (name) => `Welcome, ${name}. You are the admin of your farm. Your new records:`,
    userId: 'User ID',
    farmId: 'Farm ID',
    farmerId: 'Farmer ID',
    another: 'Register another farm',
  },
  es: {
    siteName: 'NomNomsFarm',
    title: 'Registra tu granja',
    intro: 'Crea tu cuenta de NomNomsFarm y reclama tu granja con su ID del USDA. Todos los campos son obligatorios.',
    username: 'Nombre de usuario',
    usernameHint: 'De 3 a 32 caracteres: letras, dígitos, guiones bajos, puntos y guiones.',
    password: 'Contraseña',
    passwordHint: 'Al menos 8 caracteres.',
    passwordAgain: 'Por tu seguridad no guardamos tu contraseña: vuelve a escribirla.',
    name: 'Tu nombre',
    email: 'Correo electrónico',
    emailHint: 'Te enviaremos aquí los datos de tu cuenta.',
    usdaUid: 'ID del USDA de la granja',
    usdaUidHint: 'Como en el registro del USDA de tu granja, por ejemplo USDA-10001.',
    submit: 'Crear cuenta',
    summaryTitle: 'Hay un problema',
    errorPrefix: 'Error:',
    errorTitlePrefix: 'Error: ',
    unavailable: 'No pudimos conectar con el servicio de registro. Inténtalo de nuevo en un momento.',
    successTitle: 'Tu granja está registrada',
    successIntro: (name) => `Te damos la bienvenida, ${name}. Eres quien administra tu granja. Tus nuevos registros:`,
    userId: 'ID de usuario',
    farmId: 'ID de la granja',
    farmerId: 'ID de agricultor',
    another: 'Registrar otra granja',
  },
};

// The best of LOCALES for an Accept-Language header ("es-MX,es;q=0.9,en;q=0.8"):
// the supported language with the highest q, the first one on a tie; en when
// none is supported.
function negotiate(header) {
  let best = 'en';
  let bestQ = 0;
  for (const part of String(header || '').split(',')) {
    const [range, ...params] = part.trim().split(';');
    const lang = range.trim().toLowerCase().split(/[-_]/)[0];
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (LOCALES.includes(lang) && q > bestQ) {
      best = lang;
      bestQ = q;
    }
  }
  return best;
}

module.exports = { LOCALES, TEXT, negotiate };
