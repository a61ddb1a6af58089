#!/usr/bin/env node
/** `orly-db`: the event store as a gRPC service (src/services/db/main.ts). */
import { main } from '../services/db/main.js';

main();
