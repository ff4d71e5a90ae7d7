/** The roles a person can have, from most to least power. */
export const ROLES = ['admin', 'lead', 'engineer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** What a role may do; the order is the order of power. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, engineer: 1, lead: 2, admin: 3 };
