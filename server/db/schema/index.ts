export * from './users.ts';
export * from './topology.ts';
export * from './sources.ts';
export * from './incidents.ts';
export * from './console.ts';
export * from './push.ts';
export * from './walls.ts';
