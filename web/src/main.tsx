// Entry of the dashboard bundle (web/build.mjs).
import { render } from "preact";
import { App } from "./app.tsx";
import "./style.css";

render(<App />, document.getElementById("app")!);
