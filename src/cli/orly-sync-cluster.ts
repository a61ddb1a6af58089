#!/usr/bin/env node
/** `orly-sync-cluster`: the cluster replication gRPC service (src/services/sync-cluster/main.ts). */
import { main } from '../services/sync-cluster/main.js';

main();
