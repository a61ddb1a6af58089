#!/usr/bin/env node
/** `orly-sync-negentropy`: the NIP-77 negentropy sync gRPC service (src/services/sync-negentropy/main.ts). */
import { main } from '../services/sync-negentropy/main.js';

main();
