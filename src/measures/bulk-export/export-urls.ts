// The URL layout of Bulk Data status and files, outside the FHIR base (they are not FHIR resources;
// Medplum makes the same choice with /fhir/R4/bulkdata/export/{id}):
//   {base}/bulk-data/export/{jobId}                 status (GET: 202 + X-Progress, then 200 + manifest; DELETE: cancel)
//   {base}/bulk-data/export/{jobId}/files/{name}    one NDJSON file (same client's token only)
export const BULK_DATA_PATH = '/bulk-data';

export const statusUrl = (publicBase: string, jobId: string) => `${publicBase}${BULK_DATA_PATH}/export/${jobId}`;
export const fileUrl = (publicBase: string, jobId: string, name: string) => `${statusUrl(publicBase, jobId)}/files/${encodeURIComponent(name)}`;
