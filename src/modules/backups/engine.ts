/** The data plane of backups, as the backup jobs use it (split by concern; see each file). */
export { type LoadOptions, type LoadTarget, loadArchive } from './archive-load.js';
export { type ArchiveSource, writeNativeArchive, writeZipArchive } from './archive-write.js';
export {
  asRole,
  type Credentials,
  copyDatabase,
  copyFilestore,
  createScratch,
  type DataPlane,
  databaseFacts,
  ownDataVolume,
  removeFilestoreFolder,
  removeScratch,
  scratchVolumeName,
  swapFilestore,
  withCarrier,
} from './data-plane.js';
