// `npm run migrate`: applies the schema to LB_MYSQL_URL.
import { loadConfig } from "@labbridge/config";
import { migrate } from "./migrate.ts";

const config = loadConfig();
const applied = await migrate(config.mysqlUrl);
console.log(JSON.stringify({ msg: "migrations applied", applied, database: new URL(config.mysqlUrl).pathname.slice(1) }));
