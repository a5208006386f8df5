/** Placeholder replaced by the native-backend work (issue 9): finds no native backend. */
export interface NativeBackendInfo { backend: 'tensorflow'; package: string; source: 'npm' | 'setup-native'; libtensorflowVersion: string; path: string }
export interface NativeProbe { info: NativeBackendInfo | null; tried: { package: string; error: string }[] }
export async function loadNativeBackend(_opts?: { gpu?: boolean; nativeDir?: string }): Promise<NativeProbe> {
  return { info: null, tried: [] };
}
