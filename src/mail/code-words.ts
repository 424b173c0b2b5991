/**
 * The vocabulary of one-time-code emails in the languages senders use most: the nouns that
 * name a code, the qualifiers that make it a *verification* code, and the decoys (order,
 * invoice, phone, zip code, promo code …) whose numbers must never be taken for a code.
 * Every pattern here runs on a short window, never on a whole body.
 */

/** How a word near a candidate code reads. */
export type WordKind = "keyword" | "qualifier" | "decoy" | "connector" | "month" | "unit" | "other";

// Nouns that name a code (or a one-time password) on their own.
export const CODE_NOUNS: ReadonlySet<string> = new Set([
  "code",
  "codes",
  "código",
  "códigos",
  "codigo",
  "codigos",
  "codice",
  "codici",
  "kod",
  "kodu",
  "kodun",
  "clave",
  "kodunuz",
  "kodunu",
  "kodem",
  "kód",
  "kódu",
  "kode",
  "koden",
  "koodi",
  "код",
  "кода",
  "коды",
  "кодом",
  "κωδικός",
  "κωδικό",
  "passcode",
  "passcodes",
  "otp",
  "mã",
  "رمز",
  "कोड",
]);
// Case-sensitive short nouns: "PIN" and "TAN" are codes, "pin" and "tan" usually are not.
export const UPPER_NOUNS: ReadonlySet<string> = new Set(["PIN", "TAN", "OTP", "2FA", "MFA"]);
// German, Dutch and Nordic glue qualifier and noun into one word; only these prefixes make a
// verification code (a whitelist: "Gutscheincode", "Barcode", "Unicode" must not count).
const COMPOUND_PREFIX =
  /^(?:verifi|confirm|secur|login|signin|access|auth|pass|bestätigung|sicherheit|verifizierung|anmelde|einmal|zugang|freischalt|aktivierung|bevestiging|inlog|beveiliging|toegang|engang|bekræft|bekräft|verifiering|säkerhet|sikkerhed|sikkerhet|vahvistus|turva|kirjautumis|kontroll|одноразов|провероч)/;
export const COMPOUND_SUFFIX = /(?:code|codes|kod|kode|koden|kodu|koodi|код)$/;
// A word that marks verification on its own ("Use 482193 to verify your email").
export const QUALIFIER_WORD =
  /^(?:verif|vérif|confirm|bestätig|verifizier|bevestig|подтвер|провер|weryfik|potwierd|doğrula|conferm|login|signin|authent|autent|authentif|einmalpass|anmeld|xác)/;
/** Qualifiers anywhere in a short window around a noun make it a strong keyword. */
export const QUALIFIER_NEAR =
  /verif|vérif|confirm|bestätig|log[- ]?in|sign[- ]?in|secur|sécur|segur|sicher|authent|autent|access|acces|accès|anmeld|one[- ]?time|single[- ]use|einmal|two[- ]?(?:factor|step)|2fa|mfa|otp|подтвержд|проверочн|вход|безопасност|одноразов|weryfik|potwierdz|logowan|jednoraz|doğrula|giriş|güvenlik|tek kullanım|conferma|sicurezza|monouso|connexion|usage unique|xác minh|bevestig|inlog|確認|認証|验证|驗證|인증|확인|ログイン|登录|登入/i;

// A code noun next to one of these is some other kind of code: zip code, código postal,
// promo code, code de réduction, kod rabatowy, QR code, error code, country code …
const NEGATING = new Set([
  "zip",
  "postal",
  "post",
  "postale",
  "postcode",
  "promo",
  "promotional",
  "promocional",
  "promoção",
  "promozionale",
  "discount",
  "descuento",
  "desconto",
  "réduction",
  "reduction",
  "remise",
  "sconto",
  "rabatt",
  "rabatowy",
  "zniżkowy",
  "pocztowy",
  "indirim",
  "kupon",
  "coupon",
  "cupón",
  "cupom",
  "voucher",
  "gift",
  "referral",
  "invite",
  "invitation",
  "tracking",
  "seguimiento",
  "rastreamento",
  "suivi",
  "error",
  "status",
  "qr",
  "bar",
  "source",
  "area",
  "country",
  "dialing",
  "swift",
  "sort",
  "bank",
  "product",
  "style",
  "dress",
  "html",
  "css",
  "embed",
  "colour",
  "color",
  "pantone",
  "hex",
  "rgb",
  "authorization",
  "authorisation",
  "approval",
  "transaction",
  "exit",
  "return",
  "response",
  "скидки",
  "скидочный",
  "почтовый",
  "купона",
  "промо",
  "kargo",
  "takip",
  "posta",
]);
/** "código de descuento", "code de réduction", "codice di sconto": skip the preposition. */
const PREPOSITIONS = new Set(["de", "di", "du", "do", "da", "des", "del", "of", "for", "de la"]);

// Nouns that own the number after them: "Order 5521", "Invoice no. 88213", "call 415…".
const DECOYS = new Set(
  (
    "order orders ordered invoice invoices receipt tracking track shipment package parcel ref reference " +
    "referencia referência référence riferimento referenz transaction txn booking reservation ticket case " +
    "acct card ending phone tel telephone call calling fax mobile whatsapp sms zip postal plz cep " +
    "factura fatura facture fattura rechnung bestellung bestellnummer sendung auftrag kundennummer pedido " +
    "encomenda commande ordine zamówienie zamówienia zamowienie faktura заказ заказа счёт счет номер телефон " +
    "sipariş siparişiniz fatura kargo telefon customer member membership id iban bic version build serial sku " +
    "item article artikel model price total amount balance subtotal tax vat qty quantity room flight seat " +
    "gate suite apt street st ave avenue road floor box route no nr nº número numero nummer numéro numer " +
    "number numara estimated delivery ship year years total page chapter step floor unit ext extension " +
    "ссылка ticket"
  ).split(" "),
);
const CJK_DECOY =
  /致电|客服|热线|熱線|订单|訂單|单号|單號|快递|快遞|邮编|郵編|邮政编码|优惠|優惠|电话|電話|注文|お問い合わせ番号|郵便番号|電話番号|クーポン|割引|주문|우편번호|전화|고객센터|문의|쿠폰|할인|송장|운송장|金额|金額|价格|価格|合計|합계/;
export const CJK_KEYWORD =
  /验证码|驗證碼|校验码|校驗碼|动态码|動態碼|确认码|確認碼|验证代码|驗證代碼|动态密码|動態密碼|安全码|安全碼|登录码|登入碼|認証コード|確認コード|認証番号|確認番号|承認コード|ワンタイムパスワード|セキュリティコード|ログインコード|認証キー|検証コード|인증\s?코드|인증\s?번호|확인\s?코드|보안\s?코드|일회용\s?비밀번호|로그인\s?코드|코드|コード|认证码/;
/** All CJK keywords and decoys, for scanning a whole text once. */
const CJK_ANY = new RegExp(`${CJK_KEYWORD.source}|${CJK_DECOY.source}`, "g");
const isCjkDecoy = (s: string): boolean => CJK_DECOY.test(s) && !CJK_KEYWORD.test(s);

// Words between a keyword and its code that do not break the link between them.
const CONNECTORS = new Set(
  (
    "is are was be your you the a an this that here it its to use enter with below following as: " +
    "es su tu el la este esta ist lautet ihr dein deine der die das lautet est votre ton le ce é o seu sua " +
    "seu é jest twój twoj to ваш ваша это является è il tuo vostro är din er uw je jouw dit sizin kodunuz " +
    "new nuevo neuer nouveau novo yeni please por favor bitte veuillez enter introduce ingresa gib eingeben " +
    "saisissez insira wpisz введите girin inserisci voer type your one time"
  ).split(" "),
);
const MONTHS =
  /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|januar|februar|märz|mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)$/i;
// Words after a number that make it a quantity: "10 minutes", "1200 USD", "2048 MB".
const UNITS = new Set(
  (
    "minutes minute mins min hours hour hrs h seconds second secs sec s days day d weeks months years " +
    "minutos minuto horas hora segundos días dias minuten minute stunden stunde sekunden tage minuti ore " +
    "minut minuty godzin dakika saat saniye gün минут минуты минуту часа часов секунд дней " +
    "usd eur gbp jpy cny rub pln try brl mxn chf cad aud inr krw kr zł tl руб р € $ £ ¥ % px pt em kg g lb " +
    "lbs mb gb kb tb km mi m ft items pcs pieces units points pts miles x times"
  ).split(" "),
);

/**
 * Classifies one word (as written) for the walk around a candidate. `prev`/`next` are the
 * neighbouring words, lowercased, for "zip code" and "código postal".
 */
export function classifyWord(word: string, prev = "", next = "", nextNext = ""): WordKind {
  const lower = word.toLowerCase();
  if (UPPER_NOUNS.has(word)) return "keyword";
  if (CODE_NOUNS.has(lower) || (COMPOUND_SUFFIX.test(lower) && COMPOUND_PREFIX.test(lower))) {
    const after = PREPOSITIONS.has(next) ? nextNext : next;
    return NEGATING.has(prev) || NEGATING.has(after) || NEGATING.has(next) ? "decoy" : "keyword";
  }
  if (/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(word)) {
    // A CJK run carries no spaces: classify it by the last keyword or decoy inside it.
    let last: string | undefined;
    for (const m of word.matchAll(CJK_ANY)) last = m[0];
    if (last === undefined) return "other";
    return isCjkDecoy(last) ? "decoy" : "keyword";
  }
  if (QUALIFIER_WORD.test(lower)) return "qualifier";
  if (MONTHS.test(lower)) return "month";
  if (UNITS.has(lower)) return "unit";
  if (DECOYS.has(lower)) return "decoy";
  if (CONNECTORS.has(lower)) return "connector";
  return "other";
}

/** Sentences that advertise a discount: their "code SAVE20" is a promo code. */
export const PROMO =
  /\d\s?%|%\s?off|free (?:ship|deliver)|your next (?:order|purchase)|at checkout|\boff\b|discount|promo|coupon|voucher|\bsale\b|\bsave\b|rabatt|gutschein|descuento|desconto|réduction|sconto|скидк|промокод|折扣|优惠|割引|クーポン|할인|쿠폰|indirim|zniżk|rabat/i;

/**
 * Elided articles and prepositions ("d'accès", "codice dell'accesso", "l’OTP") and English
 * contractions ("it's", "you'd"). Split on the apostrophe they would leave a one-letter word,
 * and "d", "s", "m" read as units (days, seconds, metres) that break a keyword's link; the
 * elided word carries no meaning here, so it is dropped. ASCII, curly and modifier apostrophes.
 */
export const ELISION =
  /(?<![\p{L}\p{M}])(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|dell|dall|nell|sull|all|coll|quell|quest|un|nessun)['’ʼ](?=\p{L})|['’ʼ](?:s|d|ll|re|ve|m|t)(?![\p{L}\p{M}])/giu;

// Verbs that hand the reader a code to type: "Use 847293", "Enter 583920", "Geben Sie … ein",
// "Введите …", "请输入…". Matched against the few characters right before a candidate.
const ACTION_VERBS =
  "use|enter|type|input|paste|copy|key in|" +
  "usa|utiliza|utilice|introduce|introduzca|ingresa|ingrese|escribe|escriba|copia|digite|insira|informe|copie|" +
  "utilisez|utilise|saisissez|saisis|entrez|tapez|copiez|collez|indiquez|" +
  "verwende|verwenden sie|nutze|nutzen sie|benutze|benutzen sie|gib|geben sie|kopiere|kopieren sie|" +
  "utilizza|utilizzi|inserisci|inserire|digita|immetti|" +
  "gebruik|voer|typ|kopieer|" +
  "użyj|wpisz|wprowadź|skopiuj|podaj|" +
  "используйте|используй|введите|введи|укажите|скопируйте|" +
  "kullan|kullanın|girin|gir|yazın|" +
  "använd|ange|skriv in|brug|indtast|bruk|skriv inn|angi|käytä|syötä|" +
  "sử dụng|nhập";
// "… is 847293" / "c'est 847293" count only when the subject already names a code.
const COPULAS = "is|here['’]s|it['’]s|es|est|ist|lautet|é|è|jest|är|er|это";
const CJK_ACTION = "输入|輸入|使用|填写|填寫|填入|入力|입력";
/** A verb that ends the text before a candidate (a window of a few dozen characters). */
export const ACTION_BEFORE = new RegExp(
  `(?:(?<![\\p{L}\\p{M}])(?:${ACTION_VERBS})|${CJK_ACTION})\\s{0,3}[:：]?\\s{0,3}$`,
  "iu",
);
/** "It is 847293." — only for a subject that names a code, and only ending its clause. */
export const COPULA_BEFORE = new RegExp(`(?<![\\p{L}\\p{M}])(?:${COPULAS})\\s{0,3}[:：]?\\s{0,3}$`, "iu");
/** Japanese and Korean put the verb after the code: "847293を入力", "847293을 입력". */
export const ACTION_AFTER = /^\s{0,2}(?:を|을|를)?\s{0,2}(?:入力|입력|コピー|복사)/u;

/**
 * What a typed code is for: signing in or up, logging in, verifying, confirming, registering.
 * "Use 771122 to sign in" needs no code noun. Runs on the rest of one sentence.
 */
export const PURPOSE =
  /(?<![\p{L}\p{M}])(?:sign(?:ing)?[- ]?(?:in|on|up)(?![\p{L}\p{M}])|log(?:ging)?[- ]?(?:in|on)(?![\p{L}\p{M}])|login|signin|signup|verif|confirm|authenticat|activat|registe|registr|create (?:your|an|a new) account|iniciar sesión|inicia sesión|acceder|verific|entrar|fazer login|acessar|cadastr|connecter|connexion|vérifi|inscri|accéder|anmeld|anzumeld|einlogg|einzulogg|registrier|bestätig|verifizier|accedere|conferm|inloggen|in te loggen|aanmelden|aan te melden|bevestig|zaloguj|zalogow|logowan|weryfik|potwierdz|rejestr|войти|вход|подтвер|регистрац|провер|giriş|doğrula|onayla|kayıt|logga in|verifiera|bekräfta|log ind|logg inn|bekræft|kirjaudu|vahvist|đăng nhập|xác minh|xác nhận)|登录|登入|注册|註冊|验证|驗證|确认|確認|ログイン|登録|認証|로그인|가입|인증|확인/iu;

// "Your previous code 112233 has expired": a stale code quoted beside the new one.
const STALE_WORDS =
  "previous|old|older|earlier|prior|former|expired|outdated|superseded|" +
  "vorherige[nrms]?|alte[nrms]?|frühere[nrms]?|abgelaufene[nrms]?|bisherige[nrms]?|" +
  "ancien|ancienne|précédent|précédente|expiré|expirée|anterior|antiguo|antigua|caducado|caducada|" +
  "precedente|vecchio|vecchia|scaduto|scaduta|vorige|oude|verlopen|poprzedni|poprzednia|stary|" +
  "предыдущий|предыдущего|прежний|старый|старого|önceki|eski";
const NEW_WORDS =
  "new|newer|neue[nrms]?|nouveau|nouvelle|nuevo|nueva|novo|nova|nuovo|nuova|nieuwe|nowy|новый|yeni";
/** A stale word shortly before a candidate, in its sentence, with no "new" in between. */
export const STALE_BEFORE = new RegExp(
  `(?:(?<![\\p{L}\\p{M}])(?:${STALE_WORDS})(?![\\p{L}\\p{M}])|以前の|前の|旧的|之前的|以前的|이전)` +
    `(?:(?!(?<![\\p{L}\\p{M}])(?:${NEW_WORDS})(?![\\p{L}\\p{M}])|新)[^.!?;。！？\\n]){0,30}$`,
  "iu",
);
/** "112233 has expired", "… ist abgelaufen": the candidate's own clause says it no longer works. */
export const STALE_AFTER = new RegExp(
  `^(?:(?!(?<![\\p{L}\\p{M}])(?:and|but|while|whereas|und|aber|et|mais|y|pero|e|ma|en|maar|i|и|ve)(?![\\p{L}\\p{M}]))[^.!?;。！？\\n]){0,30}?` +
    "(?:expired|no longer (?:valid|works?|be used)|is invalid|been (?:replaced|invalidated|revoked|deactivated)|invalidated|" +
    "abgelaufen|nicht mehr gültig|ungültig geworden|a expiré|est expiré|n'est plus valide|ha caducado|ha expirado|ya no es válido|" +
    "è scaduto|non è più valido|is verlopen|niet meer geldig|wygasł|nieważny|истёк|истек|недействител|süresi doldu|" +
    "期限切れ|無効になりました|已过期|已失效|已過期|만료되었)",
  "iu",
);
