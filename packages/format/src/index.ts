// The format package: how numbers read for people, shared by the dashboard (bundled for the
// browser) and `lb` (Node), so it uses nothing but the language.
export * from "./bytes.ts";
