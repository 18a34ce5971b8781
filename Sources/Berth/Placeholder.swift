public enum _PBerth {}
