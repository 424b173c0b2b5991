import { describe, expect, it } from "vitest";
import { findCodes } from "../src/mail/codes.js";
import { digestOf } from "./helpers/digest-of.js";

const extractCodes = (email: { subject?: string; text?: string; html?: string }) => digestOf(email).codes;
const codesIn = (text: string) => extractCodes({ text });

describe("one-time codes", () => {
  it.each([
    ["Your verification code is 482193.", "482193"],
    ["482193 is your Giggle verification code", "482193"],
    ["Use 482193 to verify your email address", "482193"],
    ["Your OTP: 7731", "7731"],
    ["PIN: 90211", "90211"],
    ["Your passcode is 551873. It is valid for 5 minutes.", "551873"],
    ["您的验证码是482193，5分钟内有效。", "482193"],
    ["認証コード：482193", "482193"],
    ["인증 코드: 482193", "482193"],
    ["Tu código de verificación es 482193", "482193"],
    ["Seu código de verificação é 482193", "482193"],
    ["Ihr Bestätigungscode lautet 482193", "482193"],
    ["Votre code de vérification est 482193", "482193"],
    ["Ваш код подтверждения: 482193", "482193"],
    ["Twój kod weryfikacyjny to 482193", "482193"],
    ["Doğrulama kodunuz: 482193", "482193"],
    ["Il tuo codice di verifica è 482193", "482193"],
    ["Je verificatiecode is 482193", "482193"],
  ])("finds the code in %j", (text, code) => {
    expect(codesIn(text)).toEqual([code]);
  });

  it("keeps the code as shown and normalized (separators removed)", () => {
    expect(findCodes({ bodies: ["Your code: 482-193"] })).toMatchObject([
      { code: "482193", shown: "482-193" },
    ]);
    expect(findCodes({ bodies: ["Your code is 123 456"] })).toMatchObject([
      { code: "123456", shown: "123 456" },
    ]);
    expect(findCodes({ bodies: ["Your code: K7Q-92X"] })).toMatchObject([
      { code: "K7Q92X", shown: "K7Q-92X" },
    ]);
  });

  it("reads full-width digits as ASCII", () => {
    expect(codesIn("認証コード：４８２１９３")).toEqual(["482193"]);
  });

  it("takes the digits after a one-letter label like G-482193", () => {
    expect(findCodes({ subject: "G-482193 is your Giggle verification code" })).toMatchObject([
      { code: "482193", shown: "G-482193" },
    ]);
  });

  it("finds a code standing alone on the line after its label", () => {
    expect(codesIn("Your verification code\n\n  604 118\n\nIt expires soon.")).toEqual(["604118"]);
  });

  it("finds a code only the subject carries", () => {
    expect(
      extractCodes({ subject: "Your sign-in code: 294 610", text: "Enter the code from the subject." }),
    ).toEqual(["294610"]);
  });

  it("finds a code set large in HTML under a heading that asks to confirm", () => {
    const html =
      "<h1>Confirm your email address</h1><p>Enter the following in the app:</p>" +
      '<div style="font-size:34px;font-weight:700">604 118</div>';
    expect(extractCodes({ html })).toEqual(["604118"]);
  });

  it.each([
    ["Your sign-in code", "Use 847293 to sign in.", "847293"],
    ["Your verification code", "Use 847293 to continue.", "847293"],
    ["Your verification code", "Enter 847293 in the app.", "847293"],
    ["Your Acme code", "It is 847293.", "847293"],
    ["Votre code de connexion", "C’est 847293.", "847293"],
    ["Ваш код", "Скопируйте 847293 в приложение.", "847293"],
  ])("takes a verb's code when the subject %j names one: %j", (subject, text, code) => {
    expect(extractCodes({ subject, text })).toEqual([code]);
  });

  it.each(["Use 847293 to continue.", "Enter 847293 in the app.", "It is 847293."])(
    "needs a code-naming subject for a verb without a purpose: %j",
    (text) => {
      expect(extractCodes({ subject: "Welcome to Acme", text })).toEqual([]);
      // A subject with a decoy or an offer in it names no code.
      expect(extractCodes({ subject: "Confirm your order", text })).toEqual([]);
      expect(extractCodes({ subject: "Your code for 20% off", text })).toEqual([]);
    },
  );

  it.each([
    "Use 847293 or 112233 to continue.",
    "Order 5521: use 847293 to track it.",
    "Enter 10001 as your zip code",
    "Use 2024 as the year",
    "Call 5551234 to sign up",
    "Your order 847293 is confirmed — sign in to track it",
    "Use code SAVE20 for 20 % off",
    "Our address is 1600 Amphitheatre Parkway.",
    "The total is 4821.",
  ])("keeps rejecting decoys under a code-naming subject: %j", (text) => {
    expect(extractCodes({ subject: "Your verification code", text })).toEqual([]);
  });

  it.each([
    ["Use 771122 to sign in.", "771122"],
    ["Enter 583920 to finish signing up.", "583920"],
    ["Enter 583920 to verify your email", "583920"],
    ["Type 4821 to log in", "4821"],
    ["Verify your account: enter 583920 to finish signing up", "583920"],
    ["Saisissez 482193 pour vous connecter.", "482193"],
    ["Geben Sie 482193 ein, um sich anzumelden.", "482193"],
    ["Введите 482193 для входа.", "482193"],
    ["请输入482193完成注册。", "482193"],
    ["482193を入力してログインしてください。", "482193"],
  ])("takes a code a verb asks to type for signing in or verifying: %j", (text, code) => {
    expect(codesIn(text)).toEqual([code]);
  });

  it.each([
    "Call 5551234 to sign up",
    "Text JOIN to 55512 to sign up",
    "Enter 1234 Main Street to sign in",
    "Enter 10001 as your zip code to sign up",
    "Use 2024 to sign in",
    "Use 4155550199 to sign in",
    "Enter 583920 to see your order",
  ])("needs the verb right before and nothing owning the number: %j", (text) => {
    expect(codesIn(text)).toEqual([]);
  });

  it.each([
    ["Votre code d'accès : 915530", "915530"],
    ["code d'accès 915530", "915530"],
    ["Votre code d’accès : 915530", "915530"],
    ["Votre code dʼaccès est 915530", "915530"],
    ["Il tuo codice d'accesso è 915530", "915530"],
    ["Il codice dell’accesso: 915530", "915530"],
    ["Your code — it's 482193", "482193"],
  ])("reads through elided articles and contractions: %j", (text, code) => {
    expect(codesIn(text)).toEqual([code]);
  });

  it("still reads an elided preposition before a decoy as a decoy", () => {
    expect(codesIn("Votre code d'invitation : 915530")).toEqual([]);
    expect(codesIn("Il codice dell'ordine 91553012")).toEqual([]);
  });

  it.each([
    "Order #123456 has shipped. Your code expires in 10 minutes.",
    "Use code SAVE20 for 20% off",
    "Use promo code SPRING25 at checkout",
    "If you didn't request this code, call us at 4155550199",
    "zip code 94105",
    "Código postal: 28014",
    "Your code was sent on May 12, 2024",
    "Verification code expires at 10:45",
    "Your code costs $1,234.56 (1234 USD)",
    "Colour code #123456 and #1A73E8",
    "Pantone code 2935 C",
    "Error code: 80070005",
    "Authorization code: 083112",
    "Invoice INV-2024-0042, total 49.00 EUR, ref 7730-1192",
    "Support code line: +1 415 555 0132",
    "Confirmation number: 84412093",
    "This code expires in 10 minutes.",
    "Tracking number: 1Z999AA10123456784",
    "Email alex.r.2931@giggle.example to get a code",
  ])("finds no code in the decoy %j", (text) => {
    expect(codesIn(text)).toEqual([]);
  });

  it("accepts a year-like code only right after its keyword", () => {
    expect(codesIn("Your code: 2024")).toEqual(["2024"]);
    expect(codesIn("Your code is ready. © 2024 Acme")).toEqual([]);
  });

  it("ranks the code right after its keyword above one further away", () => {
    const codes = codesIn(
      "Backup verification code for later, keep 771204 safe.\nYour verification code is 482193",
    );
    expect(codes[0]).toBe("482193");
  });

  it("returns a code found in several places once", () => {
    expect(extractCodes({ subject: "482193 is your code", text: "Your code is 482 193" })).toEqual([
      "482193",
    ]);
  });

  it("ignores letters-only words and lower-case tokens", () => {
    expect(codesIn("YOUR CODE IS READY")).toEqual([]);
    expect(codesIn("your code is abc123")).toEqual([]);
  });
});
