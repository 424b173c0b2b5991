/**
 * How a link reads to someone who came for a verification link: what it says (anchor text),
 * where it goes (URL words), and whether it is noise (unsubscribe, policy, social, help,
 * app stores, tracking). Patterns run on one anchor text or one URL, bounded in length.
 */

// Anchor text or the words before a plain-text URL that promise the action an agent wants.
const GOOD_TEXT =
  /verif|vérif|confirm|activat|activar|ativar|activer|aktivier|magic|sign[ -]?in|sign[ -]?up|log[ -]?in|log me in|continue(?! reading| shopping| browsing| to read)|reset|set (?:a )?(?:new )?password|choose a password|accept|join (?:[\w'’]+ ){0,2}(?:team|workspace|organi[sz]ation|project|group|channel|server|community|account|family|board)|approve|authori[sz]e|validat|complete (?:your )?(?:registration|sign)|finish (?:signing|setting)|bestätig|anmeld|einlogg|passwort|verificar|confirmar|iniciar sesión|restablecer|acceder|entrar|redefinir|se connecter|valider|réinitialiser|подтверд|войти|сбросить|активир|zweryfikuj|potwierd|zaloguj|doğrula|onayla|giriş|sıfırla|conferma|verifica|accedi|reimposta|bevestig|inloggen|确认|確認|验证|驗證|登录|登入|重置|認証|ログイン|再設定|인증|확인|로그인|재설정/i;
// URL words of the same actions (host and path, and query keys).
const GOOD_URL =
  /verif|confirm|activat|magic|sign[-_]?in|sign[-_]?up|log[-_]?in|auth(?!or)|callback|reset|password|passwd|invit|accept|validat|approve|onboard|register|session|otp|token/i;
// The query carries a one-time secret: the strongest sign of a magic link.
const SECRET_QUERY = /[?&#](?:token|code|otp|key|sig|signature|ticket|nonce|hash|t|k)=[^&]{6,}/i;
// Links next to a verification that are not it: "Wasn't you? Secure your account".
const WARNING_TEXT =
  /not you|wasn'?t you|wasn'?t me|didn'?t (?:request|sign|ask)|report|secure your account|block|deny|cancel|revoke|no fui yo|nicht ich|ce n'était pas moi|это не я|不是我/i;

// Noise by what the reader sees.
const DROP_TEXT =
  /unsubscribe|opt[- ]?out|stop receiving|no longer (?:wish|want)|email preferences|manage (?:your )?(?:preferences|subscriptions|notifications|email)|notification settings|privacy|terms|legal|cookie|policy|help cent|help|support|faq|contact us|view (?:it |this email )?(?:in (?:your|a) browser|online|as a web page)|view this email|download on the|get it on|app store|google play|follow us|facebook|twitter|instagram|linkedin|youtube|tiktok|pinterest|darse de baja|cancelar (?:la )?suscripción|abmelden|abbestellen|datenschutz|impressum|\bagb\b|descadastr|cancelar (?:a )?inscrição|privacidad|privacidade|política|politique|informativa|se désabonner|désinscri|confidentialité|mentions légales|отписаться|конфиденциальност|wypisz|disiscriviti|abonelikten|退订|取消订阅|隐私|隱私|配信停止|プライバシー|수신 ?거부|구독 ?취소|개인정보/i;
// Noise by where it goes.
const DROP_PATH =
  /unsubscribe|opt[-_]?out|\/preferences|email[-_]?settings|notification[-_]?settings|privacy|\/terms|\/legal|\/cookie|\/policies|\/help\b|\/support\b|\/faq|\/contact|view[-_]?in[-_]?browser|\/webview|descadastr|privacidad|privacidade|datenschutz|impressum|darse-de-baja|\/baja\b|abmelden|desinscri|\/pixel|\/beacon|\/open(?:\.gif)?(?:$|\?)|\/wf\/open|\.gif$/i;
const DROP_HOST =
  /(?:^|\.)(?:facebook\.com|fb\.com|twitter\.com|x\.com|t\.co|linkedin\.com|instagram\.com|youtube\.com|youtu\.be|tiktok\.com|pinterest\.com|threads\.net|reddit\.com|discord\.gg|apps\.apple\.com|itunes\.apple\.com|play\.google\.com|appgallery\.huawei\.com|weibo\.com|line\.me|vk\.com)$/i;

// Click trackers of the big email senders: their links hide the target or carry it in the
// query. Only these are unwrapped; on any other host `?redirect=https://…` is the post-login
// destination of the very link we want, and unwrapping it would skip the sign-in.
const TRACKER_HOST =
  /^(?:click|clicks|link|links|track|tracking|trk|email|em|e|go|ct|lnk|url\d*|t|r|l)\.|(?:^|\.)(?:sendgrid\.net|list-manage\.com|mailchimp\.com|mandrillapp\.com|awstrack\.me|mailgun\.org|mailgun\.net|sparkpostmail\.com|hubspotlinks\.com|exacttarget\.com|rs6\.net|mjt\.lu|pstmrk\.it|safelinks\.protection\.outlook\.com|customeriomail\.com|klclick\d?\.com|mailjet\.com|cmail\d+\.com|createsend\d*\.com|sendibt\d\.com)$/i;
const TARGET_PARAMS = [
  "url",
  "u",
  "target",
  "redirect",
  "redirect_url",
  "redirect_uri",
  "r",
  "dest",
  "destination",
  "link",
  "l",
  "q",
  "to",
  "goto",
  "href",
];
const isGoogleRedirect = (url: URL) =>
  /(?:^|\.)google\.[a-z.]+$/i.test(url.hostname) && url.pathname === "/url";

/** True for click-tracking redirect hosts. */
export const isTracker = (url: URL): boolean => TRACKER_HOST.test(url.hostname) || isGoogleRedirect(url);

/**
 * A tracked redirect whose target is visibly in its query (`?url=https%3A%2F%2F…`) becomes
 * that target: the agent sees where it really goes and skips the tracker. A tracker that
 * hides its target (`/ls/click?upn=…`) is kept as it is — it is the only way there.
 */
export function unwrapRedirect(url: URL): URL {
  if (!isTracker(url)) return url;
  for (const name of TARGET_PARAMS) {
    let value = url.searchParams.get(name);
    if (value === null) continue;
    if (/^https?%3A/i.test(value)) {
      try {
        value = decodeURIComponent(value);
      } catch {
        continue;
      }
    }
    if (!/^https?:\/\//i.test(value)) continue;
    try {
      return new URL(value);
    } catch {}
  }
  return url;
}

/** What a reader would make of one link. */
export interface LinkVerdict {
  drop: boolean;
  score: number;
  /**
   * The link acts on the account (verify, confirm, sign in, reset, accept an invite): its text
   * or its path says so. "View order", "Read more" and a newsletter's articles do not.
   */
  action: boolean;
}

/** Judges one link by its visible text and its (unwrapped) URL. */
export function judgeLink(url: URL, text: string, pixel: boolean, nearby = false): LinkVerdict {
  const words = text.slice(0, 300);
  const path = `${url.hostname}${url.pathname}`.slice(0, 1_000);
  const query = url.search.slice(0, 2_000);
  // Words near a bare URL may describe a neighbour; a URL that names its action outweighs them.
  const goodText = GOOD_TEXT.test(words) || (nearby && GOOD_URL.test(path));
  const warning = WARNING_TEXT.test(words);
  const drop =
    pixel ||
    DROP_HOST.test(url.hostname) ||
    (!goodText && DROP_TEXT.test(words)) ||
    (!goodText && DROP_PATH.test(path)) ||
    (warning && DROP_TEXT.test(words));
  // A bare home page (the logo in the header) is never what an agent came for.
  const home = url.pathname.length <= 1 && url.search === "" && url.hash === "" && !goodText;
  if (drop || home) return { drop: true, score: 0, action: false };
  let score = 0;
  if (goodText) score += 10;
  if (GOOD_URL.test(path)) score += 6;
  else if (GOOD_URL.test(query.replace(/=[^&]*/g, ""))) score += 3;
  if (SECRET_QUERY.test(query)) score += 3;
  if (warning) score -= 12;
  const action = !warning && (goodText || GOOD_URL.test(path));
  return { drop: false, score, action };
}
