export * from './users.ts';
export * from './topology.ts';
export * from './sources.ts';
export * from './incidents.ts';
