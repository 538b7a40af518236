/** Fills a question template's {camera}, {site} and {zone}. */
export function renderQuestion(template: string, vars: { camera: string; site?: string; zone?: string }): string {
  return template.replace(/\{(camera|site|zone)\}/g, (_m, k: 'camera' | 'site' | 'zone') => vars[k] ?? '');
}

/** How `{zone}` reads when the zone is drawn on the frames (zone_view: outline). */
export function outlinedZone(zone: string): string {
  return `${zone} (the area inside the yellow outline)`;
}
