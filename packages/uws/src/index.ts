// uWebSockets.js helpers shared by the API and the gateway: native loading and the
// async HTTP request layer.
export * from "./http.ts";
export * from "./load_uws.ts";
