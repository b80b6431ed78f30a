// Original file: proto/driver.proto


export interface DriverUpdateRequest {
  'id'?: (string);
  'name'?: (string);
  'size'?: (string);
}

export interface DriverUpdateRequest__Output {
  'id': (string);
  'name': (string);
  'size': (string);
}
