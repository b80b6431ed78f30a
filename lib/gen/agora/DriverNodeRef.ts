// Original file: proto/driver.proto


export interface DriverNodeRef {
  'id'?: (string);
}

export interface DriverNodeRef__Output {
  'id': (string);
}
