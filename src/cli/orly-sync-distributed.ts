#!/usr/bin/env node
/** `orly-sync-distributed`: the distributed sync gRPC service (src/services/sync-distributed/main.ts). */
import { main } from '../services/sync-distributed/main.js';

main();
