/**
 * The CDK app: `npx cdk synth -c config=examples/single.json` (default: mailbag.config.json).
 * Synthesizes offline: functions are bundled by the local esbuild, the ingress image is only
 * fingerprinted (Docker builds it at `cdk deploy`).
 */
import { App } from "aws-cdk-lib";
import { loadDeployConfig } from "./config.ts";
import { defineLayout } from "./layout.ts";

const app = new App();
const file = (app.node.tryGetContext("config") as string | undefined) ?? "mailbag.config.json";
defineLayout(app, loadDeployConfig(file));
app.synth();
