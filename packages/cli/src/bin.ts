#!/usr/bin/env node
// reflect-metadata must be loaded before any decorated class (tsyringe) is defined.
import 'reflect-metadata';
import { main } from './main.js';

process.exitCode = await main(process.argv);
