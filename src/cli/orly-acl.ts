#!/usr/bin/env node
/** `orly-acl`: the access-control gRPC service (src/services/acl/main.ts). */
import { main } from '../services/acl/main.js';

main();
