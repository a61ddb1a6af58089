#!/usr/bin/env node
/** `orly-sync-relaygroup`: the relay-group gRPC service (src/services/sync-relaygroup/main.ts). */
import { main } from '../services/sync-relaygroup/main.js';

main();
