// Installs the module hooks of hooks.mjs in every process that `node --test` starts, so
// that test files and the modules they import can import `weir-plugin` and the host's log.
// test.sh loads this file with `node --import`.

import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
